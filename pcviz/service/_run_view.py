"""What a page reads of a live run (`RunView`), and the plain facts about live runs: the
actor's name, the configuration the store keeps, how long an unread run stays, and the message
for a failure."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..config import ModelConfig, RuleConfig, TrainConfig, encode, to_dict
from ..data import DataError

if TYPE_CHECKING:
    from ..train import RuleRecord


def idle_seconds() -> float:
    """How long a live run with nobody reading it stays in memory (`PCVIZ_IDLE_SECONDS`,
    default 120 s, Streamlit's reconnection grace); it is then checkpointed and closed."""
    try:
        return max(5.0, float(os.environ.get("PCVIZ_IDLE_SECONDS", "120")))
    except ValueError:
        return 120.0


def actor_name(run_id: str) -> str:
    """The named actor of run `run_id`."""
    return f"run-{run_id}"


def run_config(model: ModelConfig, rule: RuleConfig, train: TrainConfig) -> dict[str, Any]:
    """A live run's configuration as the store keeps it: the three configurations and the
    address's codec form (`url`), which identifies the run's structure."""
    return {"model": to_dict(model), "rule": to_dict(rule), "train": to_dict(train),
            "url": encode(model, rule, train)}


def failure_message(err: BaseException) -> str:
    """One paragraph for people: what went wrong with a run and what to do."""
    if isinstance(err, DataError):
        return f"The data set could not be loaded. {err}"
    if isinstance(err, ValueError):
        return f"This configuration cannot run: {err} Change it in the sidebar."
    return (f"The computation failed ({type(err).__name__}: {str(err)[:300]}). A smaller depth, "
            "width, T or batch size usually fits; press Reset to try again.")


@dataclass
class RunView:
    """What a page draws of a live run, as of its latest update (a copy; reading it never
    disturbs training). Shaped like a `Session` for the figure helpers: `rules`,
    `record(rule)`, `records`, `step_count`, `epoch`, `model_config`, `rule_config`,
    `train_config`, `steps`, `eta`, `learning_rate`, `rule_groups` (the rules stepped
    together)."""

    run_id: str
    version: int = 0
    records: dict[str, RuleRecord] = field(default_factory=dict)
    step_count: int = 0
    epoch: float = 0.0
    model_config: ModelConfig | None = None
    rule_config: RuleConfig | None = None
    train_config: TrainConfig | None = None
    steps: int = 0
    eta: float = math.nan
    learning_rate: float = math.nan
    rule_groups: list[tuple[str, ...]] = field(default_factory=list)
    dataset: str = ""
    playing: bool = False
    speed: int | str = "auto"
    error: str | None = None
    notice: str | None = None
    store_problem: str | None = None
    updates_per_second: float = math.nan
    compiling: bool = False

    @property
    def built(self) -> bool:
        """Whether the run's session was built (the view then has its configurations)."""
        return self.model_config is not None

    @property
    def configs(self) -> tuple[ModelConfig, RuleConfig, TrainConfig]:
        """The run's model, rule and training configurations (`ValueError` in a view of a
        run whose session was not built: see `built`)."""
        if self.model_config is None or self.rule_config is None or self.train_config is None:
            raise ValueError(f"The run {self.run_id} has no configurations: it was not built.")
        return self.model_config, self.rule_config, self.train_config

    @property
    def rules(self) -> tuple[str, ...]:
        """The run's rules, in the order chosen (none before the run has started)."""
        return tuple(self.records)

    def record(self, rule: str) -> RuleRecord:
        """What the run knew of `rule` at this update (a `RuleRecord`)."""
        return self.records[rule]
