"""The engine against its peers and against the machine, every ratio measured in one run.

    python bench/bench_speed.py                                  # L = 8, 32, 128
    python bench/bench_speed.py --depths 32 --rounds 5
    python bench/bench_speed.py --jpc PATH --official PATH        # time the peers too

Shapes (the paper's): width 32, batch 64, D = 784, K = 10, ReLU, muPC, T = 2L, float32, Adam;
eta_h = 0.25, rho = 1, alpha = 1. Each figure is the wall time of one synchronised training
step (what a visitor waits for), the median over rounds in which the variants are
interleaved; each ratio is the median of the ratios measured within a round.

Rows:
- pcviz PC-ALM and PC, telemetry off and on, and PC + PC-ALM stepped together with telemetry:
  `pcviz._steps.inference_step`, the step the dashboard, the command line and sweeps run,
  laid over every device JAX has (`pcviz._devices`: on a CPU, one device per core);
- `--jpc PATH`: jpc (a folder to put on `sys.path` holding `jpc` and its dependencies, e.g.
  `pip install --no-deps --target PATH jpc diffrax lineax optimistix`): PC with its own
  `compute_pc_activity_grad` / `compute_pc_param_grads` in one `jax.jit`, T Euler steps of
  size eta_h in a `lax.scan`, then optax's Adam;
- `--official PATH`: a checkout of the PC-ALM paper's code (`pcalm/`): its
  `training.make_update_fn` for the `pc` and `pcalm` schedules.
The peers run in this same process, on JAX's default device with XLA's own threading.

Then the machine: float32 `(2048 x 2048) @ (2048 x 2048)` on one device and split by rows
over every device (the best of the two is the machine's rate), against the contraction rate
(two batched contractions per hidden layer per inference step) of PC-ALM's inference loop
alone (`pcviz.rules.infer` from the forward pass, telemetry off, one rule on every core), and
of the two-rule step (counted for both rules, over the step's whole wall time: the forward
pass, the weights' gradients, Adam and the telemetry included).

Printed ratios and their targets: official PC-ALM / pcviz PC-ALM >= 2 at L = 32 and >= 3 at
L = 128; jpc PC and official PC / pcviz PC >= 2; telemetry on / off <= 1.10; two rules / one
<= 1.3; the inference loop's contraction rate / machine rate >= 0.5. The two ratios of the
engine against itself (telemetry, two rules) are printed twice: from the rounds (at L = 128 a
round holds one call of each variant) and as the median over pairs of calls made one right
after the other for `--pair-seconds` each, which the machine's noise moves far less.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from bench_engine import (  # noqa: E402
    BATCH,
    ETA,
    INPUT,
    OUTPUT,
    RHO,
    WIDTH,
    alternated_ratios,
    interleaved,
    lr_for,
    make_problem,
    train_step_fn,
)
from jax.sharding import Mesh, NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

import pcviz  # noqa: E402,F401  (splits the CPU into devices before JAX starts)
from pcviz import _devices  # noqa: E402
from pcviz.rules import infer  # noqa: E402

ALPHA = 1.0


# ------------------------------------------------------------------------------------------
# Peers (timed only when their path is given; nothing of theirs lives in this repository)
# ------------------------------------------------------------------------------------------


def jpc_step(path: str, p) -> callable:
    """jpc's PC training step, its gradient functions in one jit."""
    sys.path.insert(0, path)
    if "jaxlib.xla_extension" not in sys.modules:  # jpc imports a name newer jaxlibs moved
        shim = types.ModuleType("jaxlib.xla_extension")
        shim.PjitFunction = type(jax.jit(lambda: 0))
        sys.modules["jaxlib.xla_extension"] = shim
    import jpc

    model = jpc.make_mlp(jax.random.PRNGKey(0), INPUT, WIDTH, p.depth, OUTPUT, "relu",
                         use_bias=False, param_type="mupc")
    skips = jpc.make_skip_model(p.depth)
    optimiser = optax.adam(lr_for(p.depth))
    opt_state = optimiser.init(eqx_params(model))

    import equinox as eqx

    @eqx.filter_jit
    def step(model, opt_state, x, y):
        z = jpc.init_activities_with_ffwd(model, x, skip_model=skips, param_type="mupc")

        def euler(z, _):
            _, grads = jpc.compute_pc_activity_grad((model, skips), z, y, x=x,
                                                    param_type="mupc")
            # jpc's energy is a batch mean: a per-sample step eta_h is eta_h * B on it
            return [a - ETA * x.shape[0] * g for a, g in zip(z, grads)], None

        z, _ = jax.lax.scan(euler, z, None, length=p.steps)
        grads, _ = jpc.compute_pc_param_grads((model, skips), z, y, x=x, param_type="mupc")
        params = eqx_params(model)
        updates, opt_state = optimiser.update(eqx_params(grads), opt_state, params)
        return eqx_apply(model, updates), opt_state

    state = {"model": model, "opt": opt_state}

    def run():
        state["model"], state["opt"] = step(state["model"], state["opt"], p.x, p.y)
        jax.block_until_ready(state["model"])

    return run


def eqx_params(tree):
    import equinox as eqx

    return eqx.filter(tree, eqx.is_array)


def eqx_apply(tree, updates):
    import equinox as eqx

    return eqx.apply_updates(tree, updates)


def official_step(path: str, p, family: str) -> callable:
    """The PC-ALM paper's own training step (`pcalm.training.make_update_fn`)."""
    sys.path.insert(0, path)
    from pcalm import model as om
    from pcalm import optim as oo
    from pcalm.inference import Schedule
    from pcalm.training import make_update_fn

    params = om.init_params(jax.random.PRNGKey(0), depth=p.depth, width=WIDTH,
                            input_dim=INPUT, output_dim=OUTPUT, dtype=jnp.float32)
    schedule = Schedule(family=family, budget=p.steps, alpha=ALPHA if family == "pcalm" else 0.0)
    update = make_update_fn(schedule, om.model_scales(WIDTH, p.depth, INPUT),
                            om.skip_mask(p.depth), om.activation_fn("relu"), ETA, RHO,
                            lr_for(p.depth))
    state = {"params": params, "opt": oo.adam_init(params)}

    def run():
        state["params"], state["opt"] = update(state["params"], state["opt"], p.x, p.y)
        jax.block_until_ready(state["params"])

    return run


# ------------------------------------------------------------------------------------------
# The machine
# ------------------------------------------------------------------------------------------


def machine_rate(size: int = 2048, rounds: int = 5) -> dict:
    """GFLOP/s of a float32 square matmul on one device and split by rows over all of them."""
    a = jax.random.normal(jax.random.PRNGKey(0), (size, size), jnp.float32)
    matmul = jax.jit(lambda a, b: a @ b)
    variants = {"one device": (a, a)}
    devices = jax.devices()
    if len(devices) > 1:
        mesh = Mesh(np.array(devices), ("rows",))
        variants["all devices"] = (jax.device_put(a, NamedSharding(mesh, P("rows"))),
                                   jax.device_put(a, NamedSharding(mesh, P())))
    fns = {k: (lambda args=args: jax.block_until_ready(matmul(*args)))
           for k, args in variants.items()}
    samples = interleaved(fns, rounds)
    return {k: 2 * size**3 / statistics.median(v) / 1e9 for k, v in samples.items()}


def bare_loop(depth: int, steps: int, rules: int):
    """The step's two batched contractions per inference step with almost nothing else (a
    ReLU and three elementwise updates), `rules` copies laid over the devices as the engine
    lays its rules: the ceiling XLA reaches on these shapes."""
    key = jax.random.PRNGKey(0)
    w = jax.random.normal(key, (rules, depth - 2, WIDTH, WIDTH)) * 0.05
    h = jax.random.normal(key, (rules, depth - 2, BATCH, WIDTH))

    def loop(w, h):
        def body(h, _):
            forward = jnp.einsum("lnm,lbm->lbn", w, jax.nn.relu(h))
            back = jnp.einsum("lnm,lbn->lbm", w, h - forward)
            return h - 0.1 * (h - forward - back * (h > 0)), None

        return jax.lax.scan(body, h, None, length=steps)[0]

    program = jax.vmap(loop)
    mesh = _devices.step_mesh(rules)
    if mesh is not None:
        program = jax.shard_map(program, mesh=mesh, in_specs=P(_devices.LEAD),
                                out_specs=P(_devices.LEAD))
        w, h = _devices.put_lead((w, h), mesh)
    program = jax.jit(program)
    return lambda: jax.block_until_ready(program(w, h))


def inference_loop(p):
    """PC-ALM's inference loop alone, as the training step runs it (`pcviz.rules.infer`:
    the forward pass's states, then T iterations), telemetry off."""
    loop = jax.jit(lambda m, x, y: infer(m, x, y, steps=p.steps, eta=ETA, rho=RHO, alpha=ALPHA,
                                         record=False)[0].h)
    return lambda: jax.block_until_ready(loop(p.model, p.x, p.y))


def contraction_flops(depth: int, steps: int, rules: int) -> float:
    """Two batched (B x N) (N x N) contractions per hidden weight per inference step."""
    return rules * steps * 2 * 2 * (depth - 2) * BATCH * WIDTH * WIDTH


# ------------------------------------------------------------------------------------------


def ratio(samples: dict, num: str, den: str) -> float:
    return statistics.median(a / b for a, b in zip(samples[num], samples[den]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--depths", default="8,32,128")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--jpc", metavar="PATH", help="folder holding jpc and its dependencies")
    ap.add_argument("--official", metavar="PATH", help="checkout of the PC-ALM paper's code")
    ap.add_argument("--pair-seconds", type=float, default=20.0,
                    help="seconds of alternated pairs for each of the two ratios of the "
                         "engine against itself")
    args = ap.parse_args()
    print(f"JAX {jax.__version__}, devices: {jax.devices()}; "
          f"load average {os.getloadavg()[0]:.1f}")
    rates = machine_rate()
    peak = max(rates.values())
    print("float32 matmul 2048^3: " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in rates.items()))
    for depth in (int(d) for d in args.depths.split(",")):
        p = make_problem(depth, 2 * depth)
        fns = {
            "pcviz PC-ALM, telemetry off": train_step_fn(p, [ALPHA], record=False),
            "pcviz PC-ALM, telemetry on": train_step_fn(p, [ALPHA], record=True),
            "pcviz PC, telemetry off": train_step_fn(p, [0.0], record=False),
            "pcviz PC + PC-ALM, telemetry on": train_step_fn(p, [0.0, ALPHA], record=True),
            "bare two-contraction loop, two copies": bare_loop(depth, 2 * depth, 2),
            "pcviz PC-ALM inference loop alone": inference_loop(p),
        }
        if args.official:
            fns["official PC-ALM"] = official_step(args.official, p, "pcalm")
            fns["official PC"] = official_step(args.official, p, "pc")
        if args.jpc:
            fns["jpc PC"] = jpc_step(args.jpc, p)
        rounds = args.rounds if depth < 100 else max(3, args.rounds // 2)
        samples = interleaved(fns, rounds)
        print(f"\nL = {depth}, T = {2 * depth} (load average {os.getloadavg()[0]:.1f})")
        for name, s in samples.items():
            print(f"  {name:<36} {statistics.median(s) * 1e3:9.1f} ms")
        two = "pcviz PC + PC-ALM, telemetry on"
        # (label, numerator, denominator, target); `own`: the engine against itself
        own = [
            ("telemetry on / off (PC-ALM)", "pcviz PC-ALM, telemetry on",
             "pcviz PC-ALM, telemetry off", "<= 1.10"),
            ("two rules / one (telemetry on)", two, "pcviz PC-ALM, telemetry on", "<= 1.3"),
        ]
        checks = list(own)
        if args.official:
            target = ">= 3" if depth >= 128 else ">= 2"
            checks += [("official PC-ALM / pcviz", "official PC-ALM",
                        "pcviz PC-ALM, telemetry off", target),
                       ("official PC / pcviz", "official PC", "pcviz PC, telemetry off", ">= 2")]
        if args.jpc:
            checks.append(("jpc PC / pcviz", "jpc PC", "pcviz PC, telemetry off", ">= 2"))
        for check in checks:
            label, num, den, target = check
            print(f"  {label:<36} {ratio(samples, num, den):9.2f}   (target {target})")
            if check in own:  # the engine against itself: again, in pairs of calls
                pairs = alternated_ratios(fns[num], fns[den], seconds=args.pair_seconds)
                low, _, high = statistics.quantiles(pairs, n=4)
                print(f"  {'  the same, in pairs of calls':<36} {statistics.median(pairs):9.2f}"
                      f"   (median of {len(pairs)} pairs; quartiles {low:.2f}-{high:.2f})")
        loop = (contraction_flops(depth, 2 * depth, 1)
                / statistics.median(samples["pcviz PC-ALM inference loop alone"]) / 1e9)
        print(f"  {'inference loop, contractions':<36} {loop:9.1f} GFLOP/s = "
              f"{loop / peak:.2f} of the machine's {peak:.0f}   (target >= 0.5)")
        rate = contraction_flops(depth, 2 * depth, 2) / statistics.median(samples[two]) / 1e9
        print(f"  {'two-rule step, contractions':<36} {rate:9.1f} GFLOP/s = "
              f"{rate / peak:.2f} of the machine's (the whole step)")
        bare = (contraction_flops(depth, 2 * depth, 2)
                / statistics.median(samples["bare two-contraction loop, two copies"]) / 1e9)
        print(f"  {'bare loop of the same contractions':<36} {bare:9.1f} GFLOP/s = "
              f"{bare / peak:.2f} of the machine's (XLA's ceiling on these shapes)")


if __name__ == "__main__":
    main()
