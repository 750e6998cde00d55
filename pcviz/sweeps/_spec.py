r"""What a sweep is: its grid (`SweepSpec`), its ids, and one trained cell (`SweepCell`).

Ids are derived from the configuration,

$$\text{sweep id} = \mathrm{sha1}(\text{canonical JSON of the spec}),\qquad
  \text{cell id} = \mathrm{sha1}(\text{sweep id}, L, N, \text{seed}[, \text{setting}]),$$

so running the same sweep again finds the same runs. A spec without hyperparameter grids
writes no grid fields and its cells' ids leave the setting out, so the ids of sweeps recorded
before grids existed are unchanged.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any, NamedTuple

from .._cells import Setting
from ..config import ModelConfig, RuleConfig, TrainConfig, to_dict

__all__ = ["CellKey", "Setting", "SweepCell", "SweepSpec", "cell_id", "spec_from_config",
           "sweep_id"]

_GRIDS = ("etas", "alphas", "learning_rates")


class CellKey(NamedTuple):
    """A cell's coordinates: `depth`, `width`, `seed` and the grid point `setting`."""

    depth: int
    width: int
    seed: int
    setting: Setting = Setting()


class SweepSpec(NamedTuple):
    """Everything that decides a sweep's results. `max_steps`: training steps per cell
    (`None`: `train.epochs` epochs). `etas`, `alphas`, `learning_rates`: grids of the
    activity step (numbers or `"auto"`), the dual step and the learning rate (empty: the
    configurations' own single value); every combination is a `Setting`."""

    depths: tuple[int, ...]
    widths: tuple[int, ...]
    seeds: tuple[int, ...]
    max_steps: int | None
    model: ModelConfig
    rule: RuleConfig
    train: TrainConfig
    etas: tuple[float | str, ...] = ()
    alphas: tuple[float, ...] = ()
    learning_rates: tuple[float, ...] = ()

    def settings(self) -> list[Setting]:
        """Every point of the hyperparameter grid (one `Setting()` without grids)."""
        etas: tuple[float | str | None, ...] = self.etas or (None,)
        alphas: tuple[float | None, ...] = self.alphas or (None,)
        rates: tuple[float | None, ...] = self.learning_rates or (None,)
        return [Setting(*point) for point in itertools.product(etas, alphas, rates)]

    def cells(self) -> list[CellKey]:
        """Every (depth, width, setting, seed), depth-major."""
        return [CellKey(d, w, s, g) for d, w, g, s in itertools.product(
            self.depths, self.widths, self.settings(), self.seeds)]

    def config(self) -> dict[str, Any]:
        """The spec as a JSON-ready dict (the sweep run's config)."""
        out = {"depths": list(self.depths), "widths": list(self.widths),
               "seeds": list(self.seeds), "max_steps": self.max_steps,
               "model": to_dict(self.model), "rule": to_dict(self.rule),
               "train": to_dict(self.train)}
        out.update({name: list(getattr(self, name)) for name in _GRIDS if getattr(self, name)})
        return out


def spec_from_config(config: dict[str, Any]) -> SweepSpec:
    """The inverse of `SweepSpec.config` (`ValueError` on a malformed configuration)."""
    try:
        train = dict(config["train"], rules=tuple(config["train"]["rules"]))
        return SweepSpec(tuple(config["depths"]), tuple(config["widths"]),
                         tuple(config["seeds"]), config.get("max_steps"),
                         ModelConfig(**config["model"]), RuleConfig(**config["rule"]),
                         TrainConfig(**train),
                         *(tuple(config.get(name) or ()) for name in _GRIDS))
    except (KeyError, TypeError) as err:
        raise ValueError(f"not a sweep configuration ({err})") from None


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(text.encode()).hexdigest()[:20]


def sweep_id(spec: SweepSpec) -> str:
    """The sweep's run id: a digest of its canonical configuration."""
    return "sweep-" + _digest(spec.config())


def cell_id(sweep: str, depth: int, width: int, seed: int,
            setting: Setting | None = None) -> str:
    """A cell's run id: a digest of its sweep's id and its coordinates (`setting`: the grid
    point; `None` or `Setting()` for a sweep without grids)."""
    coords: list[Any] = [sweep, int(depth), int(width), int(seed)]
    if setting is not None and setting != Setting():
        coords.append(list(setting))
    return "cell-" + _digest(coords)


class SweepCell(NamedTuple):
    """One trained cell: test `accuracy` and `status` per rule (`"ok"`, `"diverged at step
    k"`, `"failed"`), wall `seconds` (of the batched computation that trained it with its
    siblings), its `run_id` in the store, its store `state` (`"finished"` or `"failed"`),
    `error` (the failure's message, or which rules diverged), `skipped` (read from the store,
    not computed now) and its grid point `setting`."""

    depth: int
    width: int
    seed: int
    accuracy: dict[str, float]
    status: dict[str, str]
    seconds: float
    run_id: str = ""
    state: str = "finished"
    error: str | None = None
    skipped: bool = False
    setting: Setting = Setting()

    @property
    def key(self) -> CellKey:
        """The cell's coordinates."""
        return CellKey(self.depth, self.width, self.seed, self.setting)
