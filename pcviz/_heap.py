"""Give the C heap's free pages back to the operating system (a long-lived server's hygiene).

A Streamlit server runs every rerun of every visitor's script in a thread, and glibc's `malloc`
serves threads from several arenas. Memory freed in an arena stays in it: over thousands of
reruns the arenas fill with free, fragmented space, and the server's resident memory creeps up
although the memory in use is flat. Two remedies, both no-ops outside glibc (macOS, musl):

- `limit_heap_fragmentation` fixes the size above which `malloc` maps a block of its own
  (`M_MMAP_THRESHOLD`, 256 KiB). By default glibc raises that threshold each time a mapped block
  is freed, up to 32 MiB, after which the large buffers of every rerun (figures serialised
  to JSON, protocol messages) are carved out of the arenas and leave holes behind.
- `release_free_heap` (`malloc_trim(0)`) returns every whole free page of every arena.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import cache

__all__ = ["limit_heap_fragmentation", "release_free_heap"]

_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 256 * 1024


@cache
def _glibc(name: str, *argtypes):
    """glibc's function `name`, or None (another platform or C library)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    except (OSError, AttributeError):
        return None
    function.argtypes, function.restype = list(argtypes), ctypes.c_int
    return function


def limit_heap_fragmentation(threshold: int = MMAP_THRESHOLD) -> bool:
    """Serve every `malloc` of at least `threshold` bytes from its own mapping, returned to the
    system on `free` (glibc `mallopt(M_MMAP_THRESHOLD, threshold)`, which also stops the
    threshold from drifting upwards).

    **Returns:** whether the setting took effect.
    """
    mallopt = _glibc("mallopt", ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_MMAP_THRESHOLD, threshold)) if mallopt is not None else False


def release_free_heap() -> bool:
    """Return the C heap's free pages to the system (glibc `malloc_trim(0)`).

    **Returns:** whether anything was released (False where the C library has no such call).
    """
    trim = _glibc("malloc_trim", ctypes.c_size_t)
    return bool(trim(0)) if trim is not None else False
