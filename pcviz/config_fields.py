"""The configuration's settings, declared once.

`FIELDS` is one table: each `Field` says what a setting is (its name, its kind with the range or
the choices, its default, what `None` stands for, a help text) and where it shows: the
configuration that holds it (`config`: `"model"`, `"rule"`, `"inference"` or `"train"`), its
name in a page's address (`url`), its command-line option (`Option`) and its sidebar widget
(`Widget`). From this table come the checks that `pcviz.config`'s dataclasses run at
construction, the address codec (`pcviz.config.encode` / `decode`), the options of
`python -m pcviz train | probe | sweep`, the dashboard's sidebar, and README's table of settings
(`markdown_table`). A setting added here shows everywhere its row says.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from ._field_kinds import Choice as Choice
from ._field_kinds import Flag as Flag
from ._field_kinds import Float as Float
from ._field_kinds import Int as Int
from ._field_kinds import Kind as Kind
from ._field_kinds import Subset as Subset

ACTIVATIONS = ("linear", "tanh", "relu", "gelu")
PARAMETERISATIONS = ("mupc", "sp")
RULES = ("bp", "pc", "pcalm")
INFERENCE_RULES = ("pc", "pcalm")
OPTIMISERS = ("adam", "adamw", "sgd", "momentum", "rmsprop", "lamb")
DATASETS = ("spirals", "circles", "xor", "gaussians", "teacher", "synthetic-mnist",
            "fashion-mnist", "mnist")

RULE_LABELS = {"bp": "BP", "pc": "PC", "pcalm": "PC-ALM"}
"""How each rule is named on screen and in tables: the one table of the rules' names (their
colours are `pcviz.figures.RULE_COLORS`)."""


def rule_label(rule: str) -> str:
    """A rule's display name from `RULE_LABELS`; a rule not in it is shown upper-cased."""
    return RULE_LABELS.get(rule, rule.upper())

DATASET_LABELS = {
    "spirals": "Spirals (2-D, generated)",
    "circles": "Circles (2-D, generated)",
    "xor": "XOR (2-D, generated)",
    "gaussians": "Gaussians (2-D, generated)",
    "teacher": "Linear teacher (generated)",
    "synthetic-mnist": "MNIST-like digits (generated)",
    "fashion-mnist": "Fashion-MNIST",
    "mnist": "MNIST",
}
"""How each data set is named on screen."""
PARAM_LABELS = {"mupc": "μPC (Depth-μP, 1/√(NL) skips)", "sp": "standard (SP)"}
"""How each parameterisation is named on screen."""

LR_SCALE = 3e-3
"""The default learning rate is `LR_SCALE sqrt(N/L)` (Adam): the depth-muP scaling, with a
scale at which the default 16-layer net of width 32 separates the rules within a few hundred
steps (BP and PC-ALM near 80 % test accuracy after 300 steps, PC near 60 %), and 64-layer
nets still train."""

COMMANDS = ("train", "probe", "sweep", "credit")
"""The commands whose options come from this table."""
CONFIG_NAMES = {"model": "ModelConfig", "rule": "RuleConfig", "inference": "InferenceConfig",
                "train": "TrainConfig"}
"""The class that holds each `Field.config` (`RuleConfig` holds the `"inference"` fields too)."""


class Option(NamedTuple):
    """A field's command-line option: `flag` (`"--batch-size"`) on the `commands` that take it;
    `defaults`: a command's own default in place of the field's (also for a command without
    the option)."""

    flag: str
    commands: tuple[str, ...] = COMMANDS
    defaults: Mapping[str, Any] = {}


class Widget(NamedTuple):
    """A field's sidebar widget: its state `key`, `label`, the `section` it sits in, what the
    browser accepts (`limits`, inside the field's range), the number input's `step` and `fmt`,
    the text shown when it is empty (`placeholder`, may name `{two_l}` and `{auto_lr}`), whether
    it shares a row with the next `half` widget, whether it is folded under "More", and a
    `note` added to the field's help on screen."""

    key: str
    label: str
    section: str
    limits: tuple[float, float] | None = None
    step: float | None = None
    fmt: str | None = None
    placeholder: str | None = None
    half: bool = False
    more: bool = False
    note: str | None = None


class Field(NamedTuple):
    """One setting: `name` (the dataclass field), the `config` holding it, its `kind`, `default`
    and `help`; `none`: what `None` stands for when `None` is allowed; where it shows: `url`
    (query parameter), `option` (command line), `widget` (sidebar)."""

    name: str
    config: str
    kind: Kind
    default: Any
    help: str
    none: str | None = None
    url: str | None = None
    option: Option | None = None
    widget: Widget | None = None

    def check(self, value: Any) -> None:
        """Raise `ValueError` naming the field, `value` and the legal values unless legal."""
        if value is None and self.none is not None:
            return
        self.kind.check(self.name, value)

    def parse(self, text: str) -> Any:
        """The value `text` writes (`""`, `none`, `default` are `None` where allowed)."""
        text = text.strip()
        if self.none is not None and text.lower() in ("", "none", "default"):
            return None
        return self.kind.parse(text)

    def format(self, value: Any) -> str:
        """`value` as text that `parse` reads back."""
        return "default" if value is None else self.kind.format(value)

    @property
    def sidebar_widget(self) -> Widget:
        """The sidebar's widget of a field it shows (`widget`); `ValueError` for another field."""
        if self.widget is None:
            raise ValueError(f"the sidebar shows no widget for {self.name!r}")
        return self.widget

    def default_words(self) -> str:
        """The default in words: `16`, `auto`, `bp,pc,pcalm`, `yes`, `2L` (what `None` is)."""
        return str(self.none) if self.default is None else _words(self.default)


DATA, RULES_SECTION, TRAINING = "Data and network", "Learning rules", "Training"
SECTIONS = (DATA, RULES_SECTION, TRAINING)
"""The sidebar's sections, top to bottom."""

FIELDS: tuple[Field, ...] = (
    Field("dataset", "train", Choice(DATASETS, DATASET_LABELS), "synthetic-mnist",
          "The data set: generated ones work anywhere; fashion-mnist and mnist are read from "
          "IDX files.", url="dataset", option=Option("--dataset"),
          widget=Widget("cfg_dataset", "Data set", DATA)),
    Field("depth", "model", Int(2, 1024), 16, "Weight layers L (L-1 hidden).", url="depth",
          option=Option("--depth", defaults={"train": 32, "probe": 64, "sweep": 8, "credit": 16}),
          widget=Widget("cfg_depth", "Depth L", DATA, (2, 256), step=1, half=True)),
    Field("width", "model", Int(1, 4096), 32, "Units per hidden layer N.", url="width",
          option=Option("--width", defaults={"train": 32, "probe": 32, "sweep": 8, "credit": 32}),
          widget=Widget("cfg_width", "Width N", DATA, (1, 512), step=1, half=True)),
    Field("activation", "model", Choice(ACTIVATIONS), "relu", "The hidden layers' nonlinearity φ.",
          url="act", option=Option("--activation"),
          widget=Widget("cfg_activation", "Activation φ", DATA)),
    Field("param", "model", Choice(PARAMETERISATIONS, PARAM_LABELS), "mupc",
          "mupc: Depth-μP scalings, unit-Gaussian weights; sp: the standard parameterisation.",
          url="param", option=Option("--param"),
          widget=Widget("cfg_param", "Parameterisation", DATA)),
    Field("skip", "model", Flag(), True,
          "Identity skips between hidden layers; only sp may turn them off.", url="skip"),
    Field("input_dim", "model", Int(1, 65536), 784, "Input size D.", url="input_dim"),
    Field("output_dim", "model", Int(1, 65536), 10, "Output size K (classes).", url="output_dim"),
    Field("rule", "rule", Choice(RULES, RULE_LABELS), "pcalm",
          "The learning rule that one RuleConfig runs."),
    Field("rules", "train", Subset(RULES, RULE_LABELS), ("bp", "pc", "pcalm"),
          "The rules compared: all start from the same weights and see the same batches.",
          url="rules",
          option=Option("--rules", defaults={"probe": ("pc", "pcalm"), "credit": ("pc", "pcalm")}),
          widget=Widget("cfg_rules", "Rules to compare", RULES_SECTION)),
    Field("steps", "inference", Int(1, 100_000), None,
          "Inference steps T (primal steps) per training step.", none="2L", url="steps",
          option=Option("--steps"),
          widget=Widget("cfg_steps", "Steps T", RULES_SECTION, (1, 2048), step=1,
                        placeholder="2L = {two_l}", half=True)),
    Field("eta", "inference", Float(1e-6, 10.0, word="auto"), "auto",
          "Activity step size η_h per sample; 'auto' is 1/λ_max(AᵀA), found by power iteration.",
          url="eta", option=Option("--eta"),
          widget=Widget("cfg_eta", "Step η_h", RULES_SECTION, (1e-4, 10.0), step=0.01,
                        fmt="%.4g", placeholder="auto", half=True)),
    Field("rho", "inference", Float(1e-6, 1e3), 1.0, "Penalty weight ρ > 0.", url="rho",
          option=Option("--rho"),
          widget=Widget("cfg_rho", "Penalty ρ", RULES_SECTION, (0.01, 100.0), step=0.1,
                        fmt="%.4g", half=True)),
    Field("alpha", "inference", Float(0.0, 1e3), 1.0,
          "PC-ALM's dual (multiplier) step α ≥ 0; PC is α = 0.", url="alpha",
          option=Option("--alpha"),
          widget=Widget("cfg_alpha", "Dual step α", RULES_SECTION, (0.0, 100.0), step=0.1,
                        fmt="%.4g", half=True)),
    Field("record", "rule", Flag(), True, "Whether the inference loop records telemetry."),
    Field("batch_size", "train", Int(1, 8192), 64, "Samples per training step.", url="batch",
          option=Option("--batch-size"),
          widget=Widget("cfg_batch", "Batch size", TRAINING, (1, 1024), step=8, half=True)),
    Field("seed", "train", Int(0, 2**31 - 1), 0, "Seed of the weights, the batches and the data.",
          url="seed", option=Option("--seed"),
          widget=Widget("cfg_seed", "Seed", TRAINING, (0, 2**31 - 1), step=1, half=True)),
    Field("learning_rate", "train", Float(1e-8, 10.0), None,
          "The optimiser's learning rate.", none=f"{LR_SCALE:g}·√(N/L)", url="lr",
          option=Option("--lr", ("train", "sweep")),
          widget=Widget("cfg_lr", "Learning rate", TRAINING, (1e-6, 1.0), step=1e-4, fmt="%.2e",
                        placeholder="auto: {auto_lr:.2e}",
                        note="A change takes effect at once, without resetting the run.")),
    Field("optimizer", "train", Choice(OPTIMISERS), "adam", "The optax optimiser.",
          url="optimizer", option=Option("--optimizer", ("train", "sweep")),
          widget=Widget("cfg_optimizer", "Optimiser (optax)", TRAINING, more=True)),
    Field("epochs", "train", Int(1, 1000), 1, "Passes over the training set.", url="epochs",
          option=Option("--epochs", ("train", "sweep"))),
    Field("batch_rules", "train", Flag(), True,
          "Step the inference rules as one batched computation (faster) rather than one after "
          "another (each its own wall time).", url="batch_rules",
          option=Option("--batch-rules", ("train",),
                        defaults={"train": False, "probe": False, "sweep": False,
                                  "credit": False})),
)
"""Every setting, in the order the sidebar and `--help` show them."""

FIELD: dict[str, Field] = {f.name: f for f in FIELDS}
"""`FIELDS` by name."""


def fields_of(*configs: str) -> tuple[Field, ...]:
    """The fields that the configurations `configs` (`"model"`, ...) hold, in table order."""
    return tuple(f for f in FIELDS if f.config in configs)


def defaults_of(*configs: str) -> dict[str, Any]:
    """`{name: default}` of the fields of `configs`."""
    return {f.name: f.default for f in fields_of(*configs)}


def check_fields(obj: Any, *configs: str) -> None:
    """Check every field of `configs` on `obj` (raises `ValueError` on the first bad one)."""
    for f in fields_of(*configs):
        f.check(getattr(obj, f.name))


def _words(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return ",".join(value) if isinstance(value, tuple) else str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _values(f: Field) -> str:
    text = f.kind.describe()
    if isinstance(f.kind, Subset):
        text = f"one or more of {text}"
    if f.widget is not None and f.widget.limits is not None:
        lo, hi = f.widget.limits
        if not isinstance(f.kind, Int | Float) or (lo, hi) != (f.kind.lo, f.kind.hi):
            text += f" (browser: {lo:g} to {hi:g})"
    return text


def _option(f: Field) -> str:
    if f.option is None:
        return ""
    own = ", ".join(f"{command} {_words(value)}" for command, value in f.option.defaults.items()
                    if command in f.option.commands)
    where = "" if f.option.commands == COMMANDS else " (" + ", ".join(f.option.commands) + ")"
    return f"`{f.option.flag}`{where}" + (f"; default {own}" if own else "")


def markdown_table() -> str:
    """README's table of settings, one row per field: its configuration and name, the legal
    values (and the browser's narrower limits), the default, the query parameter, the
    command-line option, the sidebar label and the help text."""
    rows = ["| setting | values | default | address | command line | sidebar | meaning |",
            "|---|---|---|---|---|---|---|"]
    for f in FIELDS:
        cells = [f"`{CONFIG_NAMES[f.config]}.{f.name}`", _values(f), f.default_words(),
                 f"`{f.url}`" if f.url else "", _option(f),
                 f.widget.label if f.widget else "", f.help]
        rows.append("| " + " | ".join(map(_cell, cells)) + " |")
    return "\n".join(rows)
