"""Build of the fused inference kernel (pcviz/rules/_fused_loop.cc); everything else about the
package is in pyproject.toml.

The kernel is compiled once per instruction set, so that one build runs on any CPU of its
architecture and uses the widest vectors the CPU has (`pcviz.rules._fused.library` picks):
on x86-64, AVX-512 (x86-64-v4), AVX2 (x86-64-v3) and the baseline; elsewhere the baseline.
It includes XLA's FFI headers, which jaxlib ships (`jax.ffi.include_dir()`).
"""

from __future__ import annotations

import os
import platform

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _include_dir() -> str:
    import jax

    return jax.ffi.include_dir()


def _kernels() -> list[Extension]:
    variants = [("baseline", [], 16)]
    if platform.machine() in ("x86_64", "AMD64"):
        variants = [("x86_64_v4", ["-march=x86-64-v4"], 64),
                    ("x86_64_v3", ["-march=x86-64-v3"], 32), *variants]
    return [
        Extension(
            f"pcviz.rules._fused_loop_{name}",
            sources=["pcviz/rules/_fused_loop.cc"],
            include_dirs=[_include_dir()],
            language="c++",
            extra_compile_args=["-std=c++17", "-O3", "-g0", "-fno-math-errno", "-w",
                                f"-DPCVIZ_VEC_BYTES={vec}", *flags],
        )
        for name, flags, vec in variants
    ]


class _BuildEveryCore(build_ext):
    """Compile the variants side by side, one per core."""

    def finalize_options(self) -> None:
        super().finalize_options()
        if not self.parallel:
            self.parallel = os.cpu_count() or 1


setup(ext_modules=_kernels(), cmdclass={"build_ext": _BuildEveryCore})
