"""JAX's persistent compilation cache, shared by every process that runs the engine.

The dashboard, the run service's workers and the command line all call
`enable_compilation_cache`, so a program compiled once (by any of them, on any replica that
mounts the same folder) is loaded from disk everywhere else.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import jax

_LOG = logging.getLogger(__name__)
_CACHE_ENV = "PCVIZ_JAX_CACHE"


def compilation_cache_dir() -> str | None:
    """The cache folder: `$JAX_COMPILATION_CACHE_DIR`, else `$PCVIZ_JAX_CACHE`, else
    `~/.cache/pcviz/jax`; `None` when `PCVIZ_JAX_CACHE` is `off` (or `0`, `no`, `false`)."""
    if os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return os.environ["JAX_COMPILATION_CACHE_DIR"]
    path = os.environ.get(_CACHE_ENV, str(Path.home() / ".cache" / "pcviz" / "jax"))
    if path.strip().lower() in ("", "0", "off", "no", "false"):
        return None
    return path


def enable_compilation_cache() -> str | None:
    """Turn on JAX's persistent compilation cache in this process (idempotent).

    **Returns:** the folder in use, or `None` when disabled or unusable (a read-only home: a
    warning is logged and programs are compiled in memory only).
    """
    path = compilation_cache_dir()
    if path is None:
        return None
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
        jax.config.update("jax_compilation_cache_dir", path)
        # every program, the small ones too: a new run's session compiles about a dozen
        # of 0.1 s each (its set-up, the auto step's power iteration), 1.5 s in all that a
        # cache read cuts to 0.35 s
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    except (OSError, AttributeError, ValueError) as err:
        _LOG.warning("pcviz: no persistent compilation cache (%s)", err)
        return None
    return path
