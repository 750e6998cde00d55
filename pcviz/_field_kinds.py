"""The kinds of value a configuration field takes (`pcviz.config_fields`): each checks a value
(raising `ValueError` that names the field, the value and the legal values), parses the text of
an address or a command line, writes a value as that text, and describes its range in words."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Int:
    """A whole number from `lo` to `hi`."""

    lo: int
    hi: int

    def check(self, name: str, value: Any) -> None:
        """Raise `ValueError` naming `name`, `value` and the range unless `value` is in it."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name}={value!r} must be a whole number from {self.describe()}.")
        if not self.lo <= value <= self.hi:
            raise ValueError(f"{name}={value!r} is out of range: it must be from "
                             f"{self.describe()}.")

    def parse(self, text: str) -> int:
        """`text` as a whole number (`"1e3"` is 1000); `ValueError` when it is none."""
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not number.is_integer():
            raise ValueError(f"{text!r} is not a whole number.")
        return int(number)

    def format(self, value: Any) -> str:
        """The text `parse` reads back as `value`."""
        return str(value)

    def describe(self) -> str:
        """The range in words."""
        return f"{self.lo} to {self.hi}"


@dataclass(frozen=True)
class Float:
    """A finite number from `lo` to `hi`, or the word `word` (such as `"auto"`) in its place."""

    lo: float
    hi: float
    word: str | None = None

    def check(self, name: str, value: Any) -> None:
        """Raise `ValueError` naming `name`, `value` and the range unless `value` is in it."""
        if self.word is not None and value == self.word:
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name}={value!r} must be a number from {self.describe()}.")
        if not math.isfinite(value) or not self.lo <= value <= self.hi:
            raise ValueError(f"{name}={value!r} is out of range: it must be from "
                             f"{self.describe()}.")

    def parse(self, text: str) -> float | str:
        """`text` as a number, or the word; `ValueError` when it is neither."""
        if self.word is not None and text == self.word:
            return text
        try:
            return float(text)
        except ValueError:
            what = "not a number" if self.word is None else f"neither a number nor {self.word!r}"
            raise ValueError(f"{text!r} is {what}.") from None

    def format(self, value: Any) -> str:
        """The text `parse` reads back as `value` (a float's shortest exact form)."""
        return repr(value) if isinstance(value, float) else str(value)

    def describe(self) -> str:
        """The range in words."""
        words = f"{self.lo:g} to {self.hi:g}"
        return f"{words}, or {self.word!r}" if self.word is not None else words


@dataclass(frozen=True)
class Choice:
    """One of `options`; `labels` names them on screen."""

    options: tuple[str, ...]
    labels: Mapping[str, str] | None = None

    def check(self, name: str, value: Any) -> None:
        """Raise `ValueError` naming `name`, `value` and the options unless it is one."""
        if value not in self.options:
            raise ValueError(f"{name}={value!r} is not one of {self.describe()}.")

    def parse(self, text: str) -> str:
        """`text` itself (`check` judges it)."""
        return text

    def format(self, value: Any) -> str:
        """`value` itself."""
        return str(value)

    def describe(self) -> str:
        """The options in words."""
        return ", ".join(map(repr, self.options))


@dataclass(frozen=True)
class Flag:
    """Yes or no: `True` or `False`; written `1` or `0` (also read: yes/no, true/false, on/off)."""

    def check(self, name: str, value: Any) -> None:
        """Raise `ValueError` unless `value` is `True` or `False`."""
        if not isinstance(value, bool):
            raise ValueError(f"{name}={value!r} must be True or False.")

    def parse(self, text: str) -> bool:
        """`text` as yes or no; `ValueError` when it is neither."""
        word = text.lower()
        if word in ("1", "true", "yes", "on"):
            return True
        if word in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{text!r} is not a yes/no value.")

    def format(self, value: Any) -> str:
        """`"1"` or `"0"`."""
        return "1" if value else "0"

    def describe(self) -> str:
        """The values in words."""
        return "yes (1) or no (0)"


@dataclass(frozen=True)
class Subset:
    """One or more of `options`, each at most once, as a tuple; written comma-separated."""

    options: tuple[str, ...]
    labels: Mapping[str, str] | None = None

    def check(self, name: str, value: Any) -> None:
        """Raise `ValueError` unless `value` is a non-empty tuple of distinct options."""
        if not isinstance(value, tuple):
            raise ValueError(f"{name}={value!r} must be a tuple of {self.describe()}.")
        if not value:
            raise ValueError(f"{name}=() is empty: choose at least one of {self.describe()}.")
        for item in value:
            if item not in self.options:
                raise ValueError(f"{name}={item!r} is not one of {self.describe()}.")
        if len(set(value)) != len(value):
            raise ValueError(f"{name}={value!r} names a {name.rstrip('s')} twice.")

    def parse(self, text: str) -> tuple[str, ...]:
        """The comma-separated names in `text`."""
        return tuple(part.strip() for part in text.split(",") if part.strip())

    def format(self, value: Any) -> str:
        """The names comma-separated."""
        return ",".join(map(str, value))

    def describe(self) -> str:
        """The options in words."""
        return ", ".join(map(repr, self.options))


Kind = Int | Float | Choice | Flag | Subset
