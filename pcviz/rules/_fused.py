"""The inference loop as one fused CPU kernel (`_fused_loop.cc`), called through XLA's FFI.

On a CPU, XLA runs each inference step of `infer` as about ten kernels, each a pass over every
layer's states; those passes, not the arithmetic, set the pace. The fused kernel does a
layer's whole step while its blocks are in cache, in one sweep up the layers per step, with
the telemetry's batch sums taken in the same sweep. It computes what the `lax.scan` computes
(`tests/test_fused.py` checks the two against each other in float32 and float64, for every
activation, with and without skips and telemetry).

The package's build compiles the kernel once per instruction set (`setup.py`: AVX-512,
AVX2 and a portable baseline on x86-64); `library()` loads the widest one this CPU runs. On a
GPU, or where no compiled kernel is found, `infer` runs the `lax.scan` instead.
"""

from __future__ import annotations

import ctypes
import importlib.machinery
import logging
import os
import platform
from functools import cache
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ..model import ResidualMLP

_LOG = logging.getLogger(__name__)
_HERE = Path(__file__).resolve().parent
OFF_ENV = "PCVIZ_FUSED_KERNEL"
ACTIVATIONS = {"linear": 0, "tanh": 1, "relu": 2, "gelu": 3}
"""The kernel's code for each activation."""
VARIANTS = ("x86_64_v4", "x86_64_v3", "baseline")
"""The kernel's builds, widest instruction set first (`setup.py` names them)."""
_NEEDS = {"x86_64_v4": {"avx512f", "avx512bw", "avx512dq", "avx512vl", "avx2", "fma"},
          "x86_64_v3": {"avx2", "fma", "bmi2"}}
_TARGETS = {  # dtype -> {record: (the FFI target's name, the kernel's symbol)}
    jnp.dtype(jnp.float32): {False: ("pcviz_infer_f32", "PcvizInferF32"),
                             True: ("pcviz_infer_recorded_f32", "PcvizInferRecordedF32")},
    jnp.dtype(jnp.float64): {False: ("pcviz_infer_f64", "PcvizInferF64"),
                             True: ("pcviz_infer_recorded_f64", "PcvizInferRecordedF64")},
}


def _cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _runs_here(variant: str) -> bool:
    if variant == "baseline":
        return True
    return platform.machine() in ("x86_64", "AMD64") and _NEEDS[variant] <= _cpu_flags()


def library_path(variant: str) -> Path | None:
    """The compiled kernel `variant` in the package's folder, or `None` when not built."""
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = _HERE / f"_fused_loop_{variant}{suffix}"
        if path.exists():
            return path
    return None


@cache
def library() -> str | None:
    """Load and register the widest kernel this CPU runs; returns its variant, or `None` (with
    a warning naming the fix) when none is built."""
    for variant in VARIANTS:
        path = library_path(variant)
        if path is None or not _runs_here(variant):
            continue
        lib = ctypes.CDLL(str(path))
        for target, symbol in (pair for kinds in _TARGETS.values() for pair in kinds.values()):
            jax.ffi.register_ffi_target(target, jax.ffi.pycapsule(getattr(lib, symbol)),
                                        platform="cpu")
        return variant
    _LOG.warning("pcviz: the fused inference kernel is not built, so inference runs as XLA's "
                 "loop (slower on a CPU); build it with `pip install -e .` in the checkout")
    return None


def usable(dtype) -> bool:
    """Whether `infer` runs the fused kernel for states of `dtype`: a CPU backend, a float32
    or float64 state, a built kernel, and not turned off (`PCVIZ_FUSED_KERNEL=0`, to compare
    the two loops)."""
    if os.environ.get(OFF_ENV, "1").strip().lower() in ("0", "off", "no", "false"):
        return False
    return (jax.default_backend() == "cpu" and jnp.dtype(dtype) in _TARGETS
            and library() is not None)


class FusedResult(NamedTuple):
    """The kernel's outputs: the final states, errors and multipliers `(L-1, B, N)`; with
    telemetry, per step and layer `(T, L-1)` the batch sums of $\\|e\\|^2$, $\\|r\\|^2$,
    $\\|\\lambda\\|^2$ and $-\\langle e, \\delta\\rangle$ (BP's adjoints $\\delta$ at the starting
    states, computed in the kernel), the summed output loss `(T,)` of the state each step
    starts from, and per layer `(L-1,)` the batch sums of $\\|\\delta\\|^2$ (empty arrays
    without telemetry)."""

    h: Array
    error: Array
    multiplier: Array
    credit_sq: Array
    error_sq: Array
    multiplier_sq: Array
    credit_against_adjoint: Array
    loss: Array
    adjoint_sq: Array


def fused_infer(
    model: ResidualMLP,
    first: Float[Array, "batch width"],
    h: Float[Array, "layers batch width"],
    error: Float[Array, "layers batch width"],
    incoming: Float[Array, "layers width width"],
    y: Float[Array, "batch output"],
    *,
    steps: int,
    eta: float | Array,
    rho: float | Array,
    alpha: float | Array,
    record: bool,
) -> FusedResult:
    """`steps` inference iterations from the forward pass's states `h` with errors `error` and
    zero multipliers, in one call of the fused kernel (`usable(h.dtype)` must hold); with
    `record`, the telemetry's sums too."""
    if library() is None:
        raise RuntimeError("the fused inference kernel is not built: run `pip install -e .` "
                           "in the checkout")
    dtype = h.dtype
    target, _ = _TARGETS[jnp.dtype(dtype)][record]
    states = jax.ShapeDtypeStruct(h.shape, dtype)
    per_step = jax.ShapeDtypeStruct((steps, h.shape[0]) if record else (0,), dtype)
    loss = jax.ShapeDtypeStruct((steps,) if record else (0,), dtype)
    per_layer = jax.ShapeDtypeStruct((h.shape[0],) if record else (0,), dtype)
    scalars = jnp.stack([jnp.asarray(v, dtype) for v in (eta, rho, alpha)])
    call = jax.ffi.ffi_call(
        target,
        (states, states, states, per_step, per_step, per_step, per_step, loss, per_layer),
        vmap_method="sequential")
    out = call(first, h, error, incoming, model.w_out, y.astype(dtype), scalars,
               steps=np.int64(steps), activation=np.int64(ACTIVATIONS[model.activation]),
               skip=bool(model.skip), scale_hidden=float(model.scale_hidden),
               scale_out=float(model.scale_out))
    return FusedResult(*out)
