"""What a store's URL looks like in a message (password masked), and database errors turned
into `StoreError`s that say what went wrong and how to fix it."""

from __future__ import annotations

from urllib.parse import unquote

from sqlalchemy.engine import make_url


class StoreError(RuntimeError):
    """The run store could not be opened, read or written (the message says how to fix it)."""


def masked(url: str) -> str:
    """`url` with its password shown as `***` (a path or an unparsable string as given)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: show it as given
        return url


def sqlite_path(url: str) -> str:
    """The file of a SQLite URL, as a person would name it (`sqlite:///file:/x.db?mode=ro&uri=true`
    -> `/x.db`)."""
    path = make_url(url).database or ":memory:"
    if path.startswith("file:"):
        path = unquote(path[len("file:"):].split("?", 1)[0])
    return path


def _hide(text: str, url: str) -> str:
    """`text` with the password of `url` (raw and URL-quoted) replaced by `***`."""
    try:
        password = make_url(url).password
    except Exception:
        return text
    if password:
        for form in {str(password), unquote(str(password))}:
            if form:
                text = text.replace(form, "***")
    return text


def _first_line(err: BaseException) -> str:
    """The driver's own words (not SQLAlchemy's wrapper with the statement and parameters)."""
    text = str(getattr(err, "orig", None) or err).strip()
    return (text.splitlines() or [type(err).__name__])[0][:300]


def explain(url: str, err: BaseException) -> str:
    """What went wrong with the store at `url`, and how to fix it, with its password masked.

    **Arguments:**

    - `url`: the store's full URL (with any password).
    - `err`: the SQLAlchemy, driver or file-system error.

    **Returns:**

    One or two sentences for a person: the cause, then the fix.
    """
    text = _hide(_first_line(err), url)
    lower = text.lower()
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if "readonly" in lower or "read-only" in lower:
            return (f"The run store {path} is read-only. Give the server write access to it, "
                    "or point PCVIZ_STORE at a writable file.")
        if "not a database" in lower or "malformed" in lower or "corrupt" in lower:
            return (f"{path} is not a pcviz run store ({text}). Move it away, or point "
                    "PCVIZ_STORE elsewhere.")
        if ("disk" in lower and "full" in lower) or "no space" in lower:
            return (f"The disk holding the run store {path} is full ({text}). Free some space, "
                    "or point PCVIZ_STORE at a file on another disk.")
        if "locked" in lower or "busy" in lower:
            return (f"The run store {path} stayed locked by another process for too long "
                    f"({text}). Try again; if it persists, stop the process holding it.")
        return (f"The run store {path} cannot be opened ({text}). Check that its folder exists "
                "and is writable, or point PCVIZ_STORE elsewhere.")
    where = masked(url)
    if "password" in lower or "authentication" in lower or ("role" in lower
                                                             and "does not exist" in lower):
        return (f"The run store at {where} refused the user name or password ({text}). Check "
                "the credentials in PCVIZ_STORE.")
    if "database" in lower and "does not exist" in lower:
        return (f"The run store at {where} names a database the server does not have ({text}). "
                "Create it (createdb), or correct the database name in PCVIZ_STORE.")
    if "no space" in lower or "disk full" in lower:
        return (f"The database server of the run store at {where} has run out of disk space "
                f"({text}). Free some space on it.")
    return (f"The run store at {where} cannot be reached ({text}). Check that the database "
            "server is running and that PCVIZ_STORE names it.")
