"""The dashboard's default sweep: the smallest grid that shows the paper's claim (PC falls
behind BP as depth grows, PC-ALM tracks BP) in about two minutes on two CPU cores.

Chosen by measurement (the README's sweep section gives the figures):

- data: Fashion-MNIST (the paper's set) when installed: after a few hundred batches BP
  reaches about 75 % at every depth and the seed spread is about 1 point. Without it, the
  generated MNIST-like digits (the same claim, noisier).
- depths 4, 8, 16, 32 with T = 2L: PC's credit reaches about sqrt(rho eta_h T) layers
  (eta_h about 0.23): 1.4 of a 4-layer net's 3 hidden layers, 4 of a 32-layer net's 31, so
  its gap to BP opens with depth; deeper nets cost L * T = 2 L^2 per step and would not fit
  the time.
- widths 16 and 32: the gap is larger in the narrower net.
- three seeds: the spread over seeds is the noise the differences are read against.
- 200 batches of 64 per cell, a fixed learning rate of 0.01 (Adam) for every depth: BP
  learns equally well at every depth, so a difference to BP is the rule's credit, not the
  depth-scaled default learning rate (proportional to sqrt(N/L), slower in deep narrow
  nets).
"""

from __future__ import annotations

from typing import NamedTuple

from ..config import ModelConfig, RuleConfig, TrainConfig, with_changes
from ..data import is_available
from ._spec import SweepSpec

__all__ = ["DEFAULT_SWEEP", "SweepDefaults", "default_dataset", "default_spec"]


class SweepDefaults(NamedTuple):
    """The default sweep's grid and training: `dataset` (when installed; else `fallback`),
    `depths`, `widths`, `seeds`, `steps` (batches per cell), `batch_size`, `learning_rate`,
    `rules`."""

    depths: tuple[int, ...]
    widths: tuple[int, ...]
    seeds: tuple[int, ...]
    steps: int
    dataset: str
    fallback: str
    batch_size: int
    learning_rate: float
    rules: tuple[str, ...]


DEFAULT_SWEEP = SweepDefaults(depths=(4, 8, 16, 32), widths=(16, 32), seeds=(0, 1, 2),
                              steps=200, dataset="fashion-mnist", fallback="synthetic-mnist",
                              batch_size=64, learning_rate=0.01, rules=("bp", "pc", "pcalm"))


def default_dataset() -> str:
    """The default sweep's data set: `DEFAULT_SWEEP.dataset` when installed, else its
    `fallback` (generated, always there)."""
    return DEFAULT_SWEEP.dataset if is_available(DEFAULT_SWEEP.dataset) else \
        DEFAULT_SWEEP.fallback


def default_spec(*, model: ModelConfig | None = None, rule: RuleConfig | None = None,
                 train: TrainConfig | None = None, **changes) -> SweepSpec:
    """The default sweep on `model`'s activation and parameterisation, `rule`'s inference
    settings and `train`'s optimiser (defaults: the configurations' own), with the grid and
    training of `DEFAULT_SWEEP`; `changes` replace any of `DEFAULT_SWEEP`'s fields."""
    d = DEFAULT_SWEEP._replace(**changes)
    if "dataset" not in changes:
        d = d._replace(dataset=default_dataset())
    base = with_changes(model or ModelConfig(), depth=d.depths[0], width=d.widths[0])
    train = with_changes(train or TrainConfig(), rules=d.rules, dataset=d.dataset,
                         batch_size=d.batch_size, learning_rate=d.learning_rate, epochs=1,
                         seed=0)
    return SweepSpec(d.depths, d.widths, d.seeds, d.steps, base, rule or RuleConfig(), train)
