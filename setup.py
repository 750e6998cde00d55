"""Build of the fused inference kernel (pcviz/rules/_fused_loop.cc, with its two headers beside
it); everything else about the package is in pyproject.toml.

The kernel is compiled twice for x86-64 CPUs: with AVX-512 (x86-64-v4, 64-byte vectors) and
with AVX2 (x86-64-v3, 32-byte vectors); on either it beats XLA's own loop
(bench/bench_fused.py). `pcviz.rules._fused` loads the widest build this CPU runs and falls back
to XLA's loop everywhere else (older CPUs, GPUs, other architectures, where nothing is built).
It includes XLA's FFI headers, which jaxlib ships (`jax.ffi.include_dir()`).
"""

from __future__ import annotations

import platform

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _include_dir() -> str:
    import jax

    return jax.ffi.include_dir()


KERNEL_BUILDS = (  # (variant, vector bytes, -march): x86-64 with AVX-512, and with AVX2
    ("x86_64_v4", 64, "x86-64-v4"),
    ("x86_64_v3", 32, "x86-64-v3"),
)


def _kernels() -> list[Extension]:
    if platform.machine() not in ("x86_64", "AMD64"):
        return []
    return [
        Extension(
            f"pcviz.rules._fused_loop_{variant}",
            sources=["pcviz/rules/_fused_loop.cc"],
            depends=["pcviz/rules/_fused_blocks.h", "pcviz/rules/_fused_parts.h"],
            include_dirs=[_include_dir()],
            language="c++",
            # -fno-trapping-math: without it GCC leaves a loop with a select in it (ReLU's
            # slope) scalar where the CPU has no masked vector instructions (AVX2), and the
            # kernel ran at half its speed there; the arithmetic is IEEE's either way
            extra_compile_args=["-std=c++17", "-O3", "-g0", "-fno-math-errno",
                                "-fno-trapping-math", "-w", f"-DPCVIZ_VEC_BYTES={vector_bytes}",
                                f"-march={march}", "-pthread"],
            extra_link_args=["-pthread"],
        )
        for variant, vector_bytes, march in KERNEL_BUILDS
    ]


class _BuildSideBySide(build_ext):
    """Compiles the kernel's builds side by side, one per core, unless `--parallel` (`-j`)
    says otherwise: each takes a minute or more of one core (XLA's FFI headers)."""

    def finalize_options(self) -> None:
        super().finalize_options()
        if self.parallel is None:
            self.parallel = True  # as many at once as the machine has cores


setup(ext_modules=_kernels(), cmdclass={"build_ext": _BuildSideBySide})
