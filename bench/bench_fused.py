"""The fused CPU kernel of the inference loop against XLA's `lax.scan` of the same loop, for the
widths and activations a user may choose, so that `pcviz.rules._fused.supports` picks the
kernel only where it is the faster.

    python bench/bench_fused.py            # about two minutes on 2 CPU cores

`infer(..., fused=True)` against `fused=False`, one rule, telemetry off, T = 2L, eta_h = 0.25,
rho = 1, alpha = 1, float32, D = 784, K = 10; best of three blocks of ten calls each. Prints
each case's times, the ratio (XLA's over the kernel's) and whether `supports` chooses the
kernel there.
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax
import jax.numpy as jnp

import pcviz
from pcviz.rules import _fused, infer

CASES = [  # (depth, width, activation, batch)
    (8, 32, "relu", 64), (32, 16, "relu", 64), (32, 32, "relu", 64), (32, 64, "relu", 64),
    (128, 32, "relu", 64), (32, 32, "linear", 64), (32, 32, "relu", 256),
    (32, 32, "tanh", 64), (32, 32, "gelu", 64), (32, 8, "relu", 64), (32, 5, "relu", 64),
    (16, 128, "relu", 64),
]


def seconds_per_call(fn, calls: int = 10, blocks: int = 3) -> float:
    fn()
    best = float("inf")
    for _ in range(blocks):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def _loop(model, x, y, *, steps: int, fused: bool):
    run = jax.jit(lambda m, a, b: infer(m, a, b, steps=steps, eta=0.25, rho=1.0, alpha=1.0,
                                        record=False, fused=fused))
    return lambda: jax.block_until_ready(run(model, x, y))


def main() -> None:
    if _fused.library() is None:
        sys.exit("the fused kernel does not run here (an x86-64 CPU with AVX-512 or AVX2 and "
                 "`pip install -e .`)")
    print(f"kernel build {_fused.cpu_variant()}, load average {os.getloadavg()[0]:.1f}")
    for depth, width, activation, batch in CASES:
        cfg = pcviz.ModelConfig(depth=depth, width=width, activation=activation,
                                input_dim=784, output_dim=10)
        model = pcviz.init_model(cfg, jax.random.PRNGKey(0))
        x = jax.random.normal(jax.random.PRNGKey(1), (batch, 784))
        y = jax.nn.one_hot(jnp.arange(batch) % 10, 10)
        times = {fused: seconds_per_call(_loop(model, x, y, steps=2 * depth, fused=fused),
                                         calls=3 if depth >= 128 else 10)
                 for fused in (False, True)}
        chosen = "kernel" if _fused.supports(model, jnp.float32) else "XLA"
        print(f"L = {depth:3d}, width {width:3d}, {activation:6s}, batch {batch:3d}: "
              f"XLA {times[False] * 1e3:7.2f} ms, kernel {times[True] * 1e3:7.2f} ms, "
              f"XLA / kernel {times[False] / times[True]:5.2f}; infer runs {chosen}",
              flush=True)


if __name__ == "__main__":
    main()
