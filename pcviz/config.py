"""Typed, validated configuration and its URL / JSON codec.

Every other layer trusts a configuration built here: each dataclass checks its fields at
construction and raises `ValueError` naming the field, the bad value and the legal values.
The fields, their ranges, choices and defaults are declared once, in `pcviz.config_fields`;
the checks and the codec below are read from that table.
The codec turns configurations into flat string maps (URL query parameters, JSON) and back;
decoding never raises: anything malformed or out of range becomes a warning and the default.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .config_fields import ACTIVATIONS as ACTIVATIONS
from .config_fields import DATASETS as DATASETS
from .config_fields import FIELDS, check_fields, defaults_of, fields_of
from .config_fields import INFERENCE_RULES as INFERENCE_RULES
from .config_fields import LR_SCALE as LR_SCALE
from .config_fields import OPTIMISERS as OPTIMISERS
from .config_fields import PARAMETERISATIONS as PARAMETERISATIONS
from .config_fields import RULE_LABELS as RULE_LABELS
from .config_fields import RULES as RULES

Eta = float | str
AUTO_ETA = "auto"
"""The `eta` that stands for $1/\\lambda_{\\max}(A^\\top A)$ on a batch."""

_MODEL, _RULE = defaults_of("model"), defaults_of("rule", "inference")
_TRAIN = defaults_of("train")


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the residual MLP (docs/science.md, "The network").

    **Arguments:**

    - `depth`: number of weight layers `L` (so `L-1` hidden states), 2 to 1024.
    - `width`: hidden width `N`, 1 to 4096.
    - `activation`: one of `"linear"`, `"tanh"`, `"relu"`, `"gelu"`.
    - `param`: `"mupc"` (Depth-muP scalings, unit-Gaussian weights) or `"sp"` (standard).
    - `input_dim`: `D`; `output_dim`: `K`.
    - `skip`: identity skip connections between hidden layers (always on for muPC).
    """

    depth: int = _MODEL["depth"]
    width: int = _MODEL["width"]
    activation: str = _MODEL["activation"]
    param: str = _MODEL["param"]
    input_dim: int = _MODEL["input_dim"]
    output_dim: int = _MODEL["output_dim"]
    skip: bool = _MODEL["skip"]

    def __post_init__(self):
        check_fields(self, "model")
        if self.param == "mupc" and not self.skip:
            raise ValueError("skip=False is only available with param='sp': muPC needs its skips.")


@dataclass(frozen=True)
class InferenceConfig:
    """The inference hyperparameters of PC and PC-ALM (docs/science.md, "PC-ALM").

    **Arguments:**

    - `steps`: inference steps `T` (primal steps); `None` means `2L`.
    - `eta`: activity step size `eta_h` per sample, or `"auto"` for `1/lambda_max(A^T A)`.
    - `rho`: penalty weight `rho > 0`.
    - `alpha`: dual step size `alpha >= 0` (PC is `alpha = 0`).
    """

    steps: int | None = _RULE["steps"]
    eta: Eta = _RULE["eta"]
    rho: float = _RULE["rho"]
    alpha: float = _RULE["alpha"]

    def __post_init__(self):
        check_fields(self, "inference")

    @property
    def eta_is_auto(self) -> bool:
        """Whether `eta` is `"auto"`, found on a batch (`pcviz.rules.resolve_eta`)."""
        return self.eta == AUTO_ETA

    def inference_steps(self, depth: int) -> int:
        """`T`, with the default `2L` resolved for a net of `depth` weight layers."""
        return self.steps if self.steps is not None else 2 * depth


@dataclass(frozen=True)
class RuleConfig:
    """A learning rule and its inference hyperparameters: the rule, and an `InferenceConfig`'s
    fields side by side (`RuleConfig(rule="pcalm", steps=64, eta=0.25, rho=1.0, alpha=1.0)`).

    **Arguments:**

    - `rule`: `"bp"`, `"pc"` or `"pcalm"`.
    - `steps`, `eta`, `rho`, `alpha`: as in `InferenceConfig`; `alpha` is ignored (taken as 0)
      for `"pc"`, all four for `"bp"`.
    - `record`: whether the inference loop records telemetry.
    """

    rule: str = _RULE["rule"]
    steps: int | None = _RULE["steps"]
    eta: Eta = _RULE["eta"]
    rho: float = _RULE["rho"]
    alpha: float = _RULE["alpha"]
    record: bool = _RULE["record"]

    def __post_init__(self):
        check_fields(self, "rule", "inference")

    @classmethod
    def from_inference(cls, inference: InferenceConfig, *, rule: str = _RULE["rule"],
                       record: bool = _RULE["record"]) -> RuleConfig:
        """The rule `rule` run with the inference settings `inference`."""
        return cls(rule=rule, record=record, **dataclasses.asdict(inference))

    @property
    def inference(self) -> InferenceConfig:
        """The inference settings alone (`steps`, `eta`, `rho`, `alpha`)."""
        return InferenceConfig(**{f.name: getattr(self, f.name) for f in fields_of("inference")})

    @property
    def eta_is_auto(self) -> bool:
        """Whether `eta` is `"auto"`, found on a batch (`pcviz.rules.resolve_eta`)."""
        return self.eta == AUTO_ETA

    @property
    def dual_step(self) -> float:
        """The dual step actually used: `alpha` for PC-ALM, 0 for PC (and BP)."""
        return float(self.alpha) if self.rule == "pcalm" else 0.0

    def inference_steps(self, depth: int) -> int:
        """`T`, with the default `2L` resolved for a net of `depth` weight layers."""
        return self.inference.inference_steps(depth)


@dataclass(frozen=True)
class TrainConfig:
    """How a training session runs.

    **Arguments:**

    - `rules`: the rules stepped in lockstep on the same batches, from the same weights.
    - `dataset`: a generated set (`"spirals"`, ..., `"synthetic-mnist"`) or an IDX set.
    - `batch_size`, `epochs`, `seed`.
    - `optimizer`: an optax optimiser name; `learning_rate`: `None` means `LR_SCALE sqrt(N/L)`.
    - `batch_rules`: step the inference rules as one batched computation (faster) rather than
      one after another (separate wall times).
    """

    rules: tuple[str, ...] = _TRAIN["rules"]
    dataset: str = _TRAIN["dataset"]
    batch_size: int = _TRAIN["batch_size"]
    epochs: int = _TRAIN["epochs"]
    seed: int = _TRAIN["seed"]
    optimizer: str = _TRAIN["optimizer"]
    learning_rate: float | None = _TRAIN["learning_rate"]
    batch_rules: bool = _TRAIN["batch_rules"]

    def __post_init__(self):
        if not isinstance(self.rules, str):
            object.__setattr__(self, "rules", tuple(self.rules))
        check_fields(self, "train")

    def resolved_learning_rate(self, model: ModelConfig) -> float:
        """The learning rate, with the default `LR_SCALE sqrt(N/L)` resolved (docs/science.md,
        "PC-ALM")."""
        if self.learning_rate is not None:
            return float(self.learning_rate)
        return LR_SCALE * math.sqrt(model.width / model.depth)


# --------------------------------------------------------------------------------------------
# Codec: configuration <-> flat {name: string} map (URL query parameters, JSON).
# --------------------------------------------------------------------------------------------

URL_KEYS: frozenset[str] = frozenset(f.url for f in FIELDS if f.url is not None)
"""The query parameters that belong to the configuration (a page may add its own)."""


def encode(model: ModelConfig, rule: RuleConfig | InferenceConfig,
           train: TrainConfig) -> dict[str, str]:
    """Flatten three configurations into `{name: string}` (URL query parameters): the fields
    of `pcviz.config_fields.FIELDS` that have a `url` name and differ from their defaults
    (of `rule`, the inference settings). `decode` inverts it."""
    sources = {"model": model, "inference": rule, "train": train}
    out: dict[str, str] = {}
    for f in FIELDS:
        if f.url is not None and f.config in sources:
            value = getattr(sources[f.config], f.name)
            if value != f.default:
                out[f.url] = f.format(value)
    return out


def _raw(params: Mapping[str, Any], key: str) -> str:
    """The query parameter `key` as text (the last of repeated ones), at most 200 characters."""
    raw = params[key]
    raw = raw[-1] if isinstance(raw, (list, tuple)) else raw
    return str(raw)[:200]


def _decode_one(cls, config: str, params: Mapping[str, Any], warnings: list[str]):
    """`cls` from the parameters of the `config` fields; what is bad becomes a warning and the
    field's default."""
    values: dict[str, Any] = {}
    for f in fields_of(config):
        if f.url is None or f.url not in params:
            continue
        raw = _raw(params, f.url)
        try:
            value = f.parse(raw)
            cls(**values, **{f.name: value})  # with the fields so far: `?param=sp&skip=0`
            values[f.name] = value
        except (ValueError, TypeError, OverflowError) as err:
            warnings.append(f"Ignored {f.url}={raw!r}: {err} Using {f.default_words()} instead.")
    try:
        return cls(**values)
    except ValueError as err:  # fields valid alone but not together
        warnings.append(f"Ignored an inconsistent setting ({err}) Using defaults for it.")
        return cls()


def decode(params: Mapping[str, Any]) -> tuple[ModelConfig, RuleConfig, TrainConfig, list[str]]:
    """Build configurations from `{name: string}` (URL query parameters, JSON).

    Never raises: every malformed or out-of-range value becomes a warning and the field's
    default; unknown names are left to the page. Returns `(model, rule, train, warnings)`,
    `rule` the default rule with the decoded inference settings.
    """
    warnings: list[str] = []
    model = _decode_one(ModelConfig, "model", params, warnings)
    inference = _decode_one(InferenceConfig, "inference", params, warnings)
    train = _decode_one(TrainConfig, "train", params, warnings)
    return model, RuleConfig.from_inference(inference), train, warnings


def to_dict(cfg) -> dict[str, Any]:
    """A configuration as a JSON-ready dict (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cfg).items()}


def with_changes(cfg, **changes):
    """`dataclasses.replace`, validating the result (raises `ValueError` on a bad change)."""
    return dataclasses.replace(cfg, **changes)


__all__ = [
    "URL_KEYS",
    "InferenceConfig",
    "ModelConfig",
    "RuleConfig",
    "TrainConfig",
    "decode",
    "encode",
    "to_dict",
    "with_changes",
]
