"""A long run keeps host memory flat: bounded histories, only the latest telemetry kept."""

import resource

import pytest

from pcviz.config import ModelConfig, RuleConfig, TrainConfig
from pcviz.train import Session


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.slow
def test_two_thousand_steps_keep_memory_flat():
    session = Session(ModelConfig(depth=8, width=64), RuleConfig(steps=8),
                      TrainConfig(dataset="spirals", batch_size=16))
    session.step(200)  # compile and warm up allocator pools
    start = _rss_mib()
    samples = []
    for _ in range(9):
        session.step(200)
        samples.append(_rss_mib())
    assert session.step_count == 2000
    growth = samples[-1] - start
    print(f"RSS {start:.0f} MiB after warm-up, {samples[-1]:.0f} MiB after 2000 steps")
    assert growth < 40, f"RSS grew {growth:.1f} MiB over 1800 steps: {samples}"
    for record in session.records.values():
        assert len(record.loss.steps) <= 2000 and record.loss.steps[-1] == 2000


def _libc():
    import ctypes
    import sys

    import pytest

    if not sys.platform.startswith("linux"):
        pytest.skip("glibc's malloc tuning is Linux-only; elsewhere pcviz._heap does nothing")
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
    return libc


def _freed_behind_a_pin(libc, size: int, count: int, then=lambda: None) -> float:
    """MiB of resident memory that `count` written blocks of `size` bytes give back when freed
    (and `then` is called) while a block allocated after them stays live (so the heap cannot
    shrink from its top)."""
    blocks = [libc.malloc(size) for _ in range(count)]
    pin = libc.malloc(200 * 1024)  # too big for a free fragment: taken from the top
    try:
        for block in blocks:
            libc.memset(block, 1, size)
        held = _rss_mib()
        for block in blocks:
            libc.free(block)
        then()
        return held - _rss_mib()
    finally:
        libc.free(pin)


def test_release_free_heap_returns_freed_holes_to_the_system():
    """Free space between live blocks stays resident until `malloc_trim` gives it back."""
    from pcviz._heap import release_free_heap

    trimmed = []
    # 100 MiB in 64 KiB blocks, below the mmap threshold: served by the heap, kept when freed
    released = _freed_behind_a_pin(_libc(), 64 * 1024, 1600,
                                   then=lambda: trimmed.append(release_free_heap()))
    assert trimmed == [True]
    assert released > 50, f"only {released:.0f} MiB of 100 MiB of freed heap went back"


def test_large_blocks_go_back_at_once_after_limit_heap_fragmentation():
    """With the threshold fixed, freeing a large block does not raise it (glibc's default), so
    later large blocks keep their own mappings and are returned the moment they are freed."""
    from pcviz._heap import limit_heap_fragmentation

    libc = _libc()
    assert limit_heap_fragmentation() is True
    libc.free(libc.malloc(8 * 2**20))  # by default this would raise the threshold to 8 MiB
    returned = _freed_behind_a_pin(libc, 2**20, 100)
    assert returned > 50, f"only {returned:.0f} MiB of 100 freed 1 MiB blocks went back"
