"""Every device JAX finds, with the host's CPU split into one device per core.

XLA runs one batched contraction on one core, so a training step on an undivided CPU leaves
the other cores idle. `split_host_cpu` (called when `pcviz` is imported, before JAX starts its
backends) gives JAX one CPU device per core this process may use; `step_mesh` then lays the
independent work of a step over every device: the stacked rules of a session (PC and PC-ALM
on a core each) or the units of a sweep. On a GPU host the same code spreads over the GPUs.

- `PCVIZ_CPU_DEVICES=N` sets the number of CPU devices (1 keeps the CPU whole); an explicit
  `--xla_force_host_platform_device_count` in `XLA_FLAGS` is left as it is.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import math
import os
from collections.abc import Iterator
from functools import cache

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

_LOG = logging.getLogger(__name__)
CPU_DEVICES_ENV = "PCVIZ_CPU_DEVICES"
LEAD = "lead"


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def split_host_cpu() -> int | None:
    """Ask JAX for one CPU device per usable core (or `$PCVIZ_CPU_DEVICES`).

    **Returns:** the number requested, or `None` when it was left alone: set by the user in
    `XLA_FLAGS`, or JAX's backends were already running (then its devices stay as they are).
    """
    if "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", ""):
        return None
    try:
        count = int(os.environ.get(CPU_DEVICES_ENV, "") or usable_cores())
    except ValueError:
        _LOG.warning("pcviz: %s must be a whole number; using %d", CPU_DEVICES_ENV,
                     usable_cores())
        count = usable_cores()
    try:
        jax.config.update("jax_num_cpu_devices", max(1, count))
    except RuntimeError:  # the backends already started
        return None
    return max(1, count)


SPLIT_WORK = 2**27
"""Multiply-adds of one problem's step (inference steps x hidden layers x batch x width^2)
below which a step stays on one device: dispatching a small program to several devices and
waiting for the slowest costs more than it saves (`bench/bench_speed.py`, L = 8 and 16)."""


@cache
def step_mesh(lead: int, *, work: int = SPLIT_WORK) -> Mesh | None:
    """The mesh a step of `lead` independent stacked problems (rules, sweep units), each of
    `work` multiply-adds, is split over: one axis, `"lead"`, over as many devices as divide
    `lead` evenly.

    Each problem stays whole on its device (its batch is not split), so a rule computes the
    same numbers whether it steps alone or stacked with others.

    **Returns:** the `Mesh`, or `None` when there is one device, nothing divides, or the work
    is below `SPLIT_WORK`: the step then runs undivided.
    """
    devices = jax.devices()
    shards = math.gcd(lead, len(devices))
    if shards == 1 or work < SPLIT_WORK:
        return None
    return Mesh(np.array(devices[:shards]), (LEAD,))


def step_work(model_leaves_shape: tuple[int, ...], *, steps: int, batch: int) -> int:
    """Multiply-adds of one stacked problem's inference loop: `steps` x two contractions of a
    `(batch, N) x (N, N)` product per hidden weight; `model_leaves_shape` is the stacked
    hidden weights' shape `(..., L-2, N, N)`."""
    hidden, width = model_leaves_shape[-3], model_leaves_shape[-1]
    return 2 * steps * hidden * batch * width * width


def put_lead(tree, mesh: Mesh):
    """`tree`'s arrays split along their leading axis over the mesh's `lead` axis; arrays
    already there are not moved."""
    sharding = NamedSharding(mesh, PartitionSpec(LEAD))
    return jax.device_put(tree, sharding)


_KERNEL_THREADS: contextvars.ContextVar[int] = contextvars.ContextVar(
    "pcviz_kernel_threads", default=0)


def kernel_threads() -> int:
    """Threads each call of the fused CPU kernel may split its batch over, for the program
    being traced: 0 (the default) lets each call take the cores no other call holds."""
    return _KERNEL_THREADS.get()


@contextlib.contextmanager
def threads_per_device(mesh: Mesh | None) -> Iterator[None]:
    """While tracing a program laid over `mesh`, give each device's kernel calls an equal
    share of the cores (one each on a CPU split into a device per core), so that calls
    running side by side do not crowd each other; nothing changes without a mesh."""
    if mesh is None:
        yield
        return
    token = _KERNEL_THREADS.set(max(1, usable_cores() // mesh.size))
    try:
        yield
    finally:
        _KERNEL_THREADS.reset(token)


split_host_cpu()

__all__ = ["CPU_DEVICES_ENV", "LEAD", "SPLIT_WORK", "kernel_threads", "put_lead",
           "split_host_cpu", "step_mesh", "step_work", "threads_per_device", "usable_cores"]
