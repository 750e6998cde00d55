"""Where the run store is: `PCVIZ_STORE`, else a SQLite file in the user's data folder."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def as_url(value: str) -> str:
    """A store's path or URL as a SQLAlchemy URL.

    **Arguments:**

    - `value`: a path (`~` expanded, made absolute) or a URL: `sqlite:///...`,
      `postgresql://...` or `postgres://...` (both meaning the psycopg 3 driver),
      `postgresql+psycopg://...`.

    **Returns:**

    `sqlite:////absolute/path` for a path, `postgresql+psycopg://...` for a plain PostgreSQL
    URL, any other URL as given.
    """
    value = str(value).strip()
    if "://" not in value:
        return f"sqlite:///{Path(value).expanduser().resolve()}"
    scheme, rest = value.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    return value


def default_store_url() -> str:
    """The run store of this process.

    **Returns:**

    `PCVIZ_STORE` as a URL (see `as_url`) when it is set; else the SQLite file `runs.sqlite`
    in the user's data folder, `$XDG_DATA_HOME/pcviz` or else `~/.local/share/pcviz`, which
    is created.
    """
    value = os.environ.get("PCVIZ_STORE", "").strip()
    if value:
        return as_url(value)
    base = os.environ.get("XDG_DATA_HOME", "").strip() or str(Path.home() / ".local" / "share")
    folder = Path(base).expanduser() / "pcviz"
    with contextlib.suppress(OSError):  # opening the store says what is wrong with the folder
        folder.mkdir(parents=True, exist_ok=True)
    return as_url(str(folder / "runs.sqlite"))
