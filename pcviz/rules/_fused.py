"""The inference loop as one fused CPU kernel (`_fused_loop.cc`), called through XLA's FFI.

On a CPU, XLA runs each inference step of `infer` as about ten kernels, each a pass over every
layer's states; those passes, not the arithmetic, set the pace. The fused kernel does a
layer's whole step while its blocks are in cache, in one sweep up the layers per step, with
the telemetry's batch sums taken in the same sweep. It computes what the `lax.scan` computes
(`tests/test_fused.py` checks the two against each other in float32 and float64, for every
activation, with and without skips and telemetry).

`infer` runs it where it is faster than XLA's loop (`bench/bench_speed.py`, and the widths and
activations measured in the README): on an x86-64 CPU with AVX-512 or AVX2, for each of
which the package's build compiles it (`setup.py`), with ReLU or linear units and a width of
16, 32 or 64 (the widths it has register-blocked products for). Everywhere else (a GPU,
another CPU, tanh and GELU, whose libm calls do not vectorise, other widths) `infer` runs the
`lax.scan`.
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

from .._devices import kernel_threads
from ..model import ResidualMLP

_LOG = logging.getLogger(__name__)
_HERE = Path(__file__).resolve().parent
OFF_ENV = "PCVIZ_FUSED_KERNEL"
ACTIVATIONS = {"linear": 0, "tanh": 1, "relu": 2, "gelu": 3}
"""The kernel's code for each activation."""
FAST_ACTIVATIONS = ("linear", "relu")
FAST_WIDTHS = (16, 32, 64)
"""Where `infer` chooses the kernel: these activations and widths (the kernel computes the
others too, more slowly than XLA's loop)."""
_V3 = {"avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "movbe"}
VARIANTS = (  # the builds of `setup.py`, widest first, each with the CPU flags it needs
    ("x86_64_v4", _V3 | {"avx512f", "avx512bw", "avx512dq", "avx512vl"}),
    ("x86_64_v3", _V3),
)
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


@cache
def cpu_variant() -> str | None:
    """The widest of the kernel's builds this CPU runs: "x86_64_v4" (AVX-512), "x86_64_v3"
    (AVX2 and FMA), or `None` (another architecture, or an older x86-64)."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return None
    flags = _cpu_flags()
    return next((variant for variant, needs in VARIANTS if flags >= needs), None)


def cpu_runs_kernel() -> bool:
    """Whether this CPU runs one of the kernel's builds: x86-64 with AVX-512 or AVX2."""
    return cpu_variant() is not None


def library_path() -> Path | None:
    """The compiled kernel for `cpu_variant()` in the package's folder, or `None` when it is
    not built."""
    variant = cpu_variant()
    for suffix in importlib.machinery.EXTENSION_SUFFIXES if variant else ():
        path = _HERE / f"_fused_loop_{variant}{suffix}"
        if path.exists():
            return path
    return None


@cache
def library() -> Path | None:
    """Load the kernel's build for this CPU and register it with XLA; returns its file, or
    `None` (logged, with the fix where there is one) when this CPU runs no build or it is not
    built."""
    if not cpu_runs_kernel():
        _LOG.info("pcviz: this CPU has neither AVX-512 nor AVX2, so inference runs as XLA's "
                  "loop")
        return None
    path = library_path()
    if path is None:
        _LOG.warning("pcviz: the fused inference kernel is not built, so inference runs as "
                     "XLA's loop (slower); build it with `pip install -e .` in the checkout")
        return None
    lib = ctypes.CDLL(str(path))
    for target, symbol in (pair for kinds in _TARGETS.values() for pair in kinds.values()):
        jax.ffi.register_ffi_target(target, jax.ffi.pycapsule(getattr(lib, symbol)),
                                    platform="cpu")
    return path


def turned_off() -> bool:
    """`PCVIZ_FUSED_KERNEL=0` (or `off`, `no`, `false`): XLA's loop everywhere, to compare."""
    return os.environ.get(OFF_ENV, "1").strip().lower() in ("0", "off", "no", "false")


def supports(model: ResidualMLP, dtype) -> bool:
    """Whether `infer` runs the fused kernel for `model` with states of `dtype`: a CPU backend
    whose CPU runs the built kernel, float32 or float64, `FAST_ACTIVATIONS` and
    `FAST_WIDTHS`, and not `turned_off()`."""
    return (not turned_off() and jax.default_backend() == "cpu"
            and jnp.dtype(dtype) in _TARGETS and model.activation in FAST_ACTIVATIONS
            and model.w_hidden.shape[-1] in FAST_WIDTHS and library() is not None)


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
    zero multipliers, in one call of the fused kernel (`library()` must load it); with
    `record`, the telemetry's sums too. The kernel splits the batch's rows over threads:
    `pcviz._devices.kernel_threads()` of them, or as many cores as no other call holds."""
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
               scale_out=float(model.scale_out), threads=np.int64(kernel_threads()))
    return FusedResult(*out)
