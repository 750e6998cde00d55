"""Typed, validated configuration and its URL / JSON codec.

Every other layer trusts a configuration built here: each dataclass checks its fields at
construction and raises `ValueError` naming the field, the bad value and the legal values.
The codec turns configurations into flat string maps (URL query parameters, JSON) and back;
decoding never raises: anything malformed or out of range becomes a warning and a safe value.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping, Union

ACTIVATIONS = ("linear", "tanh", "relu", "gelu")
PARAMETERISATIONS = ("mupc", "sp")
RULES = ("bp", "pc", "pcalm")
RULE_LABELS = {"bp": "BP", "pc": "PC", "pcalm": "PC-ALM"}
"""How each rule is named on screen and in tables."""
INFERENCE_RULES = ("pc", "pcalm")
OPTIMISERS = ("adam", "adamw", "sgd", "momentum", "rmsprop", "lamb")
DATASETS = (
    "spirals",
    "circles",
    "xor",
    "gaussians",
    "teacher",
    "synthetic-mnist",
    "fashion-mnist",
    "mnist",
)

DEPTH_RANGE = (2, 1024)
WIDTH_RANGE = (1, 4096)
DIM_RANGE = (1, 65536)
STEPS_RANGE = (1, 100_000)
BATCH_RANGE = (1, 8192)
EPOCHS_RANGE = (1, 1000)
SEED_RANGE = (0, 2**31 - 1)
ETA_RANGE = (1e-6, 10.0)
RHO_RANGE = (1e-6, 1e3)
ALPHA_RANGE = (0.0, 1e3)
LR_RANGE = (1e-8, 10.0)

Eta = Union[float, str]


def _check_choice(name: str, value: Any, legal: tuple) -> None:
    if value not in legal:
        raise ValueError(f"{name}={value!r} is not one of {', '.join(map(repr, legal))}.")


def _check_int(name: str, value: Any, bounds: tuple[int, int]) -> None:
    lo, hi = bounds
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}={value!r} must be a whole number from {lo} to {hi}.")
    if not lo <= value <= hi:
        raise ValueError(f"{name}={value!r} is out of range: it must be from {lo} to {hi}.")


def _check_float(name: str, value: Any, bounds: tuple[float, float]) -> None:
    lo, hi = bounds
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name}={value!r} must be a number from {lo:g} to {hi:g}.")
    if not math.isfinite(value) or not lo <= value <= hi:
        raise ValueError(f"{name}={value!r} is out of range: it must be from {lo:g} to {hi:g}.")


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

    depth: int = 16
    width: int = 32
    activation: str = "relu"
    param: str = "mupc"
    input_dim: int = 784
    output_dim: int = 10
    skip: bool = True

    def __post_init__(self):
        _check_int("depth", self.depth, DEPTH_RANGE)
        _check_int("width", self.width, WIDTH_RANGE)
        _check_choice("activation", self.activation, ACTIVATIONS)
        _check_choice("param", self.param, PARAMETERISATIONS)
        _check_int("input_dim", self.input_dim, DIM_RANGE)
        _check_int("output_dim", self.output_dim, DIM_RANGE)
        _check_choice("skip", self.skip, (True, False))
        if self.param == "mupc" and not self.skip:
            raise ValueError("skip=False is only available with param='sp': muPC needs its skips.")


@dataclass(frozen=True)
class RuleConfig:
    """A learning rule and its inference hyperparameters.

    **Arguments:**

    - `rule`: `"bp"`, `"pc"` or `"pcalm"`.
    - `steps`: inference steps `T` (primal steps); `None` means `2L`.
    - `eta`: activity step size `eta_h` per sample, or `"auto"` for `1/lambda_max(A^T A)`.
    - `rho`: penalty weight `rho > 0`.
    - `alpha`: dual step size `alpha >= 0`; ignored (taken as 0) for `"pc"`.
    - `record`: whether the inference loop records telemetry.
    """

    rule: str = "pcalm"
    steps: int | None = None
    eta: Eta = "auto"
    rho: float = 1.0
    alpha: float = 1.0
    record: bool = True

    def __post_init__(self):
        _check_choice("rule", self.rule, RULES)
        if self.steps is not None:
            _check_int("steps", self.steps, STEPS_RANGE)
        if isinstance(self.eta, str):
            _check_choice("eta", self.eta, ("auto",))
        else:
            _check_float("eta", self.eta, ETA_RANGE)
        _check_float("rho", self.rho, RHO_RANGE)
        _check_float("alpha", self.alpha, ALPHA_RANGE)
        _check_choice("record", self.record, (True, False))

    @property
    def dual_step(self) -> float:
        """The dual step actually used: `alpha` for PC-ALM, 0 for PC (and BP)."""
        return float(self.alpha) if self.rule == "pcalm" else 0.0

    def inference_steps(self, depth: int) -> int:
        """`T`, with the default `2L` resolved for a net of `depth` weight layers."""
        return self.steps if self.steps is not None else 2 * depth


LR_SCALE = 3e-3
"""The default learning rate is `LR_SCALE sqrt(N/L)` (Adam): the depth-muP scaling, with a
scale at which the default 16-layer net of width 32 separates the rules within a few hundred
steps (BP and PC-ALM near 80 % test accuracy after 300 steps, PC near 60 %), and 64-layer
nets still train."""


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

    rules: tuple[str, ...] = ("bp", "pc", "pcalm")
    dataset: str = "synthetic-mnist"
    batch_size: int = 64
    epochs: int = 1
    seed: int = 0
    optimizer: str = "adam"
    learning_rate: float | None = None
    batch_rules: bool = True

    def __post_init__(self):
        rules = tuple(self.rules)
        object.__setattr__(self, "rules", rules)
        if not rules:
            raise ValueError("rules=() is empty: choose at least one of 'bp', 'pc', 'pcalm'.")
        for rule in rules:
            _check_choice("rules", rule, RULES)
        if len(set(rules)) != len(rules):
            raise ValueError(f"rules={rules!r} names a rule twice.")
        _check_choice("dataset", self.dataset, DATASETS)
        _check_int("batch_size", self.batch_size, BATCH_RANGE)
        _check_int("epochs", self.epochs, EPOCHS_RANGE)
        _check_int("seed", self.seed, SEED_RANGE)
        _check_choice("optimizer", self.optimizer, OPTIMISERS)
        if self.learning_rate is not None:
            _check_float("learning_rate", self.learning_rate, LR_RANGE)
        _check_choice("batch_rules", self.batch_rules, (True, False))

    def resolved_learning_rate(self, model: ModelConfig) -> float:
        """The learning rate, with the default `LR_SCALE sqrt(N/L)` resolved (docs/science.md,
        "PC-ALM")."""
        if self.learning_rate is not None:
            return float(self.learning_rate)
        return LR_SCALE * math.sqrt(model.width / model.depth)


# --------------------------------------------------------------------------------------------
# Codec: configuration <-> flat {name: string} map (URL query parameters, JSON).
# --------------------------------------------------------------------------------------------

_RULE_FIELDS_IN_URL = ("steps", "eta", "rho", "alpha")


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    if isinstance(value, float):
        return repr(value)
    return str(value)


def encode(model: ModelConfig, rule: RuleConfig, train: TrainConfig) -> dict[str, str]:
    """Flatten three configurations into `{name: string}` (URL query parameters).

    Only fields that differ from their defaults are written; `decode` inverts it.
    """
    out: dict[str, str] = {}
    for cfg, names in (
        (model, None),
        (rule, _RULE_FIELDS_IN_URL),
        (train, None),
    ):
        default = type(cfg)()
        for f in dataclasses.fields(cfg):
            if names is not None and f.name not in names:
                continue
            value = getattr(cfg, f.name)
            if value != getattr(default, f.name):
                out[_url_name(f.name)] = _format(value)
    return out


def _url_name(name: str) -> str:
    return {"learning_rate": "lr", "batch_size": "batch", "activation": "act"}.get(name, name)


def _parse_value(f: dataclasses.Field, text: str) -> Any:
    """Parse one field's string; raises ValueError on malformed text."""
    text = text.strip()
    kind = str(f.type)
    if f.name == "rules":
        return tuple(part.strip() for part in text.split(",") if part.strip())
    if f.name == "eta":
        return "auto" if text == "auto" else float(text)
    if "bool" in kind:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{text!r} is not a yes/no value")
    if text.lower() in ("", "none", "default") and "None" in kind:
        return None
    if "int" in kind and "float" not in kind:
        number = float(text)
        if not number.is_integer():
            raise ValueError(f"{text!r} is not a whole number")
        return int(number)
    if "float" in kind:
        return float(text)
    return text


def _decode_one(cls, params: Mapping[str, str], names, warnings: list[str]):
    default = cls()
    values = {}
    for f in dataclasses.fields(cls):
        if names is not None and f.name not in names:
            continue
        key = _url_name(f.name)
        if key not in params:
            continue
        raw = params[key]
        raw = raw[-1] if isinstance(raw, (list, tuple)) else raw
        raw = str(raw)[:200]
        try:
            value = _parse_value(f, raw)
            # validate with the fields accepted so far (param before skip: `?param=sp&skip=0`)
            dataclasses.replace(default, **values, **{f.name: value})
            values[f.name] = value
        except (ValueError, TypeError, OverflowError) as err:
            warnings.append(
                f"Ignored {key}={raw!r}: {err} Using {_format(getattr(default, f.name))} instead."
            )
    try:
        return cls(**values)
    except ValueError as err:  # fields valid alone but not together
        warnings.append(f"Ignored an inconsistent setting ({err}) Using defaults for it.")
        return default


def decode(params: Mapping[str, Any]) -> tuple[ModelConfig, RuleConfig, TrainConfig, list[str]]:
    """Build configurations from `{name: string}` (URL query parameters, JSON).

    Never raises: every unknown, malformed or out-of-range value becomes a warning and the
    field's default. Returns `(model, rule, train, warnings)`.
    """
    warnings: list[str] = []
    model = _decode_one(ModelConfig, params, None, warnings)
    rule = _decode_one(RuleConfig, params, _RULE_FIELDS_IN_URL, warnings)
    train = _decode_one(TrainConfig, params, None, warnings)
    return model, rule, train, warnings


def to_dict(cfg) -> dict[str, Any]:
    """A configuration as a JSON-ready dict (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cfg).items()}


def with_changes(cfg, **changes):
    """`dataclasses.replace`, validating the result (raises `ValueError` on a bad change)."""
    return dataclasses.replace(cfg, **changes)


__all__ = [
    "ModelConfig",
    "RuleConfig",
    "TrainConfig",
    "encode",
    "decode",
    "to_dict",
    "with_changes",
]
