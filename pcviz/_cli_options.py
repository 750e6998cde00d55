"""The command line's configuration options, read from `pcviz.config_fields.FIELDS`.

Each field with an `Option` becomes an option of the commands it names (`--depth`,
`--batch-size`, `--lr`...), stored under the field's name, with the command's own default where
the table gives one. A value is parsed and checked as the configuration checks it, so that a bad
one is a usage error naming the option, the value and the legal values. A `Flag` is a
`--x / --no-x` switch.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from .config import ModelConfig, RuleConfig, TrainConfig
from .config_fields import FIELDS, Choice, Field, Flag


def whole_number(text: str) -> int:
    """An option's `type` for a whole number of at least 1 (else an `ArgumentTypeError`)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def _parse(f: Field) -> Callable[[str], Any]:
    """The option's `type`: the field's parse and check, a failure an `ArgumentTypeError`."""

    def parse(text: str) -> Any:
        try:
            value = f.parse(text)
            f.check(value)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
        return value

    parse.__name__ = f.name
    return parse


def _default(f: Field, command: str) -> Any:
    """The field's default for `command`: the option's own default there, else the field's."""
    own = f.option.defaults if f.option is not None else {}
    return own.get(command, f.default)


def _help(f: Field, command: str) -> str:
    default = _default(f, command)
    if isinstance(f.kind, Flag):  # argparse writes a switch's default itself
        return f.help.replace("%", "%%")
    words = f.none if default is None else (
        ",".join(default) if isinstance(default, tuple) else str(default))
    return f"{f.help} Default: {words}.".replace("%", "%%")


def add_config_options(parser: argparse.ArgumentParser, command: str) -> None:
    """Add to `parser` the option of every field that `command` takes, in the table's order."""
    for f in FIELDS:
        if f.option is None or command not in f.option.commands:
            continue
        common = {"dest": f.name, "default": _default(f, command), "help": _help(f, command)}
        if isinstance(f.kind, Flag):
            parser.add_argument(f.option.flag, action=argparse.BooleanOptionalAction, **common)
        elif isinstance(f.kind, Choice):
            parser.add_argument(f.option.flag, choices=f.kind.options, **common)
        else:
            metavar = f.option.flag.lstrip("-").upper().replace("-", "_")
            parser.add_argument(f.option.flag, type=_parse(f), metavar=metavar, **common)


def configs_from_args(args: argparse.Namespace,
                      command: str) -> tuple[ModelConfig, RuleConfig, TrainConfig]:
    """The configurations that `command`'s parsed `args` ask for: each field with an option
    from its option, or the command's default where the command has no such option; every
    other field its default."""
    values: dict[str, dict[str, Any]] = {"model": {}, "inference": {}, "train": {}}
    for f in FIELDS:
        if f.option is not None and f.config in values:
            taken = command in f.option.commands
            values[f.config][f.name] = getattr(args, f.name) if taken else _default(f, command)
    return (ModelConfig(**values["model"]), RuleConfig(**values["inference"]),
            TrainConfig(**values["train"]))
