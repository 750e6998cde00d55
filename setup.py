"""Build of the fused inference kernel (pcviz/rules/_fused_loop.cc); everything else about the
package is in pyproject.toml.

The kernel is compiled for x86-64 CPUs with AVX-512 (x86-64-v4), where it beats XLA's own loop
(bench/bench_speed.py); `pcviz.rules._fused` uses it only on a CPU that runs it and falls back
to XLA's loop everywhere else (other CPUs, GPUs, other architectures, where nothing is built).
It includes XLA's FFI headers, which jaxlib ships (`jax.ffi.include_dir()`).
"""

from __future__ import annotations

import platform

from setuptools import Extension, setup


def _include_dir() -> str:
    import jax

    return jax.ffi.include_dir()


def _kernels() -> list[Extension]:
    if platform.machine() not in ("x86_64", "AMD64"):
        return []
    return [
        Extension(
            "pcviz.rules._fused_loop_x86_64_v4",
            sources=["pcviz/rules/_fused_loop.cc"],
            include_dirs=[_include_dir()],
            language="c++",
            extra_compile_args=["-std=c++17", "-O3", "-g0", "-fno-math-errno", "-w",
                                "-DPCVIZ_VEC_BYTES=64", "-march=x86-64-v4", "-pthread"],
            extra_link_args=["-pthread"],
        )
    ]


setup(ext_modules=_kernels())
