"""Experiment behind the suggested fix for benchmark 4 (two stacked rules cost ~2x one).

    python bench/probe_rule_sharding.py [L T]     # default L = 32, T = 64

Splits the CPU into two XLA host devices and shards the stacked rule axis of the unchanged
`pcviz._steps.inference_step` over them (models, optimiser states, alphas, active: sharded;
x, y, scalars: replicated), so that PC and PC-ALM run on one core each inside one program.
Prints one rule, two rules stacked on one device, and two rules stacked and sharded over
two devices, each as a ratio to one rule.
"""

from __future__ import annotations

import os
import sys

os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
).strip()

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]

import jax  # noqa: E402
import numpy as np  # noqa: E402
from bench_engine import interleaved, make_problem, med, ms, paired_ratio, train_step_args  # noqa: E402
from jax.sharding import Mesh, NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

from pcviz import _steps  # noqa: E402


def main() -> None:
    depth, steps = (int(sys.argv[1]), int(sys.argv[2])) if len(sys.argv) > 2 else (32, 64)
    devices = jax.devices()
    print(f"devices: {devices}, L = {depth}, T = {steps}")
    mesh = Mesh(np.array(devices[:2]), ("rule",))
    by_rule, replicated = NamedSharding(mesh, P("rule")), NamedSharding(mesh, P())
    p = make_problem(depth, steps)
    one = jax.device_put(train_step_args(p, [1.0]), devices[0])
    stacked = jax.device_put(train_step_args(p, [0.0, 1.0]), devices[0])
    sharded = list(train_step_args(p, [0.0, 1.0]))
    sharded = [jax.device_put(a, by_rule if i < 4 else replicated) for i, a in enumerate(sharded)]

    def run(args):
        def call():
            out = _steps.inference_step(*args, steps=steps, record=True, optimizer="adam")
            jax.block_until_ready(out[:2])
            return jax.device_get(out[2:])
        return call

    fns = {"one": run(one), "stacked": run(stacked), "stacked_sharded": run(sharded)}
    samples = interleaved(fns, rounds=11)
    for name in fns:
        print(f"  {name:16s} {ms(med(samples, name))}/step")
    paired_ratio(samples, "stacked", "one")
    paired_ratio(samples, "stacked_sharded", "one")


if __name__ == "__main__":
    main()
