"""Engine benchmarks (issue 2, point 8), every ratio measured in one run.

    python bench/bench_engine.py            # full run, a few minutes on 2 CPU cores
    python bench/bench_engine.py --quick    # smaller shapes and fewer rounds, under a minute

Measurements (width 32, batch 64, D = 784, K = 10, ReLU, muPC, eta_h = 0.25, rho = 1, alpha = 1):

1. compile time of one training step (`pcviz._steps.inference_step`, PC and PC-ALM stacked,
   telemetry on, T = 2L), `jit.lower(...).compile()` after `jax.clear_caches()`, L = 128 over
   L = 8 (target <= 1.5);
2. PC-ALM training step over PC training step at the same T (target <= 1.15);
3. telemetry on over off (`record=True` vs `False`, PC-ALM) (target <= 1.10);
4. PC and PC-ALM stacked in one `inference_step` over PC-ALM alone (target <= 1.3);
5. naive implementation (`bench/_naive.py`) over the engine's `pcviz.weight_grads`, after checking
   both give the same weight gradients (target >= 1.5 at L = 32, T = 64; >= 2 at L = 128, T = 256);
6. achieved GFLOP/s of the engine's inference loop against a chained, jitted batched `einsum`
   of the same shapes (information, no target).

The machine is shared and noisy: variants are interleaved round by round, every call is
synchronised (`jax.block_until_ready` / `jax.device_get`, as a training session does), and each
ratio is the median over rounds of the ratio measured within a round.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from functools import partial

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]

import _naive  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import pcviz  # noqa: E402
from pcviz import _steps  # noqa: E402
from pcviz.rules import infer  # noqa: E402

WIDTH, BATCH, INPUT, OUTPUT = 32, 64, 784, 10
ETA, RHO, ALPHA = 0.25, 1.0, 1.0


# ------------------------------------------------------------------------------------------
# Problem set-up
# ------------------------------------------------------------------------------------------


@dataclass
class Problem:
    depth: int
    steps: int
    model: pcviz.ResidualMLP
    x: jax.Array
    y: jax.Array


def make_problem(depth: int, steps: int, seed: int = 0) -> Problem:
    cfg = pcviz.ModelConfig(depth=depth, width=WIDTH, activation="relu", param="mupc",
                            input_dim=INPUT, output_dim=OUTPUT)
    k_model, k_x, k_y = jax.random.split(jax.random.PRNGKey(seed), 3)
    model = pcviz.init_model(cfg, k_model)
    x = jax.random.normal(k_x, (BATCH, INPUT), jnp.float32)
    y = jax.nn.one_hot(jax.random.randint(k_y, (BATCH,), 0, OUTPUT), OUTPUT, dtype=jnp.float32)
    return Problem(depth, steps, model, x, y)


def lr_for(depth: int) -> float:
    """The benchmarks' Adam learning rate, 1e-3 sqrt(N/L)."""
    return 1e-3 * (WIDTH / depth) ** 0.5


def train_step_args(p: Problem, alphas: list[float]) -> tuple:
    """Positional arguments of `_steps.inference_step` for the given stacked rules, as a
    `Session` builds them (Adam, lr = 3e-3 sqrt(N/L))."""
    lr = lr_for(p.depth)
    models = _steps.stack([p.model] * len(alphas))
    opt_states = jax.vmap(_steps.make_optimizer("adam", lr).init)(models)
    return (models, opt_states, jnp.asarray(alphas, jnp.float32),
            jnp.ones(len(alphas), bool), p.x, p.y, ETA, RHO, jnp.asarray(lr, jnp.float32))


def train_step_fn(p: Problem, alphas: list[float], record: bool):
    """One synchronised training step, as `Session._step_group` runs it."""
    args = list(train_step_args(p, alphas))

    def run():
        out = _steps.inference_step(*args, steps=p.steps, record=record, optimizer="adam")
        jax.block_until_ready(out[:2])
        args[:2] = out[:2]  # the next step starts from these weights, where they are
        return jax.device_get(out[2:])

    return run


# ------------------------------------------------------------------------------------------
# Timing
# ------------------------------------------------------------------------------------------


def alternated_ratios(num, den, *, seconds: float, min_pairs: int = 20) -> list[float]:
    """`num`'s time over `den`'s, one ratio per pair of calls made one right after the other
    (the order flipping from pair to pair), for at least `seconds` and `min_pairs` pairs: on
    a noisy machine the two calls of a pair share its load, so the ratios scatter far less
    than the samples of a rotation over many variants, some of which evict the others'
    data from the caches."""
    ratios: list[float] = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(ratios) < min_pairs:
        pair = (num, den) if len(ratios) % 2 == 0 else (den, num)
        took = {}
        for fn in pair:
            t0 = time.perf_counter()
            fn()
            took[fn] = time.perf_counter() - t0
        ratios.append(took[num] / took[den])
    return ratios


def interleaved(fns: dict, rounds: int, min_block: float = 0.05, warmup: int = 2) -> dict:
    """Seconds per call of each function, `rounds` samples each, variants interleaved.

    Each sample is a block of `reps` calls (chosen so a block lasts at least `min_block`
    seconds); the order of the variants rotates from round to round.
    """
    reps = {}
    for name, fn in fns.items():
        for _ in range(warmup):
            fn()
        start = time.perf_counter()
        fn()
        reps[name] = max(1, int(np.ceil(min_block / max(time.perf_counter() - start, 1e-6))))
    samples = {name: [] for name in fns}
    names = list(fns)
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            fn, n = fns[name], reps[name]
            start = time.perf_counter()
            for _ in range(n):
                fn()
            samples[name].append((time.perf_counter() - start) / n)
    return samples


def paired_ratio(samples: dict, num: str, den: str) -> float:
    """Median over rounds of `num / den` measured in the same round (printed with the ratio
    of the fastest samples, a cross-check that is less sensitive to other load)."""
    ratio = statistics.median(a / b for a, b in zip(samples[num], samples[den]))
    print(f"  {num} / {den}: {ratio:.3f} (median of paired ratios), "
          f"{min(samples[num]) / min(samples[den]):.3f} (min / min)")
    return ratio


def med(samples: dict, name: str) -> float:
    return statistics.median(samples[name])


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


# ------------------------------------------------------------------------------------------
# Summary
# ------------------------------------------------------------------------------------------

ROWS: list[tuple[str, str, str, str]] = []


def report(name: str, value: float, target: str | None, passed: bool | None, fmt="{:.3f}"):
    text = fmt.format(value)
    verdict = "-" if passed is None else ("PASS" if passed else "FAIL")
    ROWS.append((name, text, target or "-", verdict))
    print(f"  => {name}: {text}   target {target or '-'}   {verdict}", flush=True)


def print_summary() -> None:
    header = ("measurement", "value", "target", "result")
    widths = [max(len(r[i]) for r in [*ROWS, header]) for i in range(4)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print("\n" + "=" * (sum(widths) + 6))
    print(line.format("measurement", "value", "target", "result"))
    print("-" * (sum(widths) + 6))
    for row in ROWS:
        print(line.format(*row))
    print("=" * (sum(widths) + 6))


# ------------------------------------------------------------------------------------------
# 1. Compile time against depth
# ------------------------------------------------------------------------------------------


def bench_compile(depths: tuple[int, int], reps: int) -> None:
    print(f"\n[1] compile time of one training step (PC + PC-ALM stacked, telemetry on, T = 2L), "
          f"L = {depths[1]} over L = {depths[0]}, {reps} interleaved repetitions")
    problems = {d: make_problem(d, 2 * d) for d in depths}
    args = {d: train_step_args(problems[d], [0.0, ALPHA]) for d in depths}
    jax.block_until_ready(args)
    wall = {d: [] for d in depths}
    lower_s = {d: [] for d in depths}
    cpu = {d: [] for d in depths}
    for r in range(reps):
        for d in (depths if r % 2 == 0 else depths[::-1]):
            jax.clear_caches()
            c0, t0 = time.process_time(), time.perf_counter()
            lowered = _steps.inference_step.lower(*args[d], steps=2 * d, record=True,
                                                  optimizer="adam")
            t1 = time.perf_counter()
            lowered.compile()
            t2, c2 = time.perf_counter(), time.process_time()
            lower_s[d].append(t1 - t0)
            wall[d].append(t2 - t0)
            cpu[d].append(c2 - c0)
    jax.clear_caches()
    for d in depths:
        print(f"  L = {d:4d}: lower+compile {statistics.median(wall[d]):.3f} s wall "
              f"(trace+lower {statistics.median(lower_s[d]):.3f} s), "
              f"{statistics.median(cpu[d]):.3f} s CPU; wall samples "
              f"{', '.join(f'{w:.2f}' for w in wall[d])} s")
    lo, hi = depths
    ratio = statistics.median(a / b for a, b in zip(wall[hi], wall[lo]))
    cpu_ratio = statistics.median(cpu[hi]) / statistics.median(cpu[lo])
    print(f"  ratio L={hi}/L={lo}: wall {ratio:.3f} (median of paired ratios), "
          f"min/min {min(wall[hi]) / min(wall[lo]):.3f}, CPU time {cpu_ratio:.3f}")
    report(f"compile L={hi} / L={lo} (lower+compile)", ratio, "<= 1.50", ratio <= 1.5)


# ------------------------------------------------------------------------------------------
# 2-4. Rule and telemetry overheads of the training step
# ------------------------------------------------------------------------------------------


def bench_step_ratios(depth: int, steps: int, rounds: int) -> None:
    print(f"\n[2-4] training step (inference_step + Adam + device_get), L = {depth}, T = {steps}, "
          f"{rounds} rounds")
    p = make_problem(depth, steps)
    fns = {
        "pc": train_step_fn(p, [0.0], record=True),
        "pcalm": train_step_fn(p, [ALPHA], record=True),
        "pcalm_no_telemetry": train_step_fn(p, [ALPHA], record=False),
        "pc+pcalm_stacked": train_step_fn(p, [0.0, ALPHA], record=True),
    }
    s = interleaved(fns, rounds)
    for name in fns:
        print(f"  {name:20s} {ms(med(s, name))}/step")
    tag = f"L={depth},T={steps}"
    r2 = paired_ratio(s, "pcalm", "pc")
    report(f"PC-ALM / PC step ({tag})", r2, "<= 1.15", r2 <= 1.15)
    r3 = paired_ratio(s, "pcalm", "pcalm_no_telemetry")
    report(f"telemetry on / off ({tag})", r3, "<= 1.10", r3 <= 1.10)
    r4 = paired_ratio(s, "pc+pcalm_stacked", "pcalm")
    report(f"PC+PC-ALM stacked / PC-ALM ({tag})", r4, "<= 1.30", r4 <= 1.3)
    seq = statistics.median(
        b / (a + c) for a, b, c in zip(s["pc"], s["pc+pcalm_stacked"], s["pcalm"])
    )
    report(f"  stacked / (PC then PC-ALM) ({tag})", seq, None, None)


# ------------------------------------------------------------------------------------------
# 5. Against a straightforward implementation
# ------------------------------------------------------------------------------------------


def check_naive(p: Problem, rule: pcviz.RuleConfig) -> tuple[float, float, float]:
    """Max over layers of the relative error between naive and engine weight gradients
    (raises if they disagree beyond rtol 1e-3), and the seconds of each one's first call
    (compile + one run)."""
    t0 = time.perf_counter()
    engine = jax.block_until_ready(pcviz.weight_grads(p.model, p.x, p.y, rule)[0])
    t1 = time.perf_counter()
    naive = jax.block_until_ready(_naive.naive_weight_grads(
        _naive.weights_from_model(p.model), p.x, p.y, ETA, RHO, rule.dual_step,
        statics=_naive.statics_from_model(p.model), steps=p.steps,
    ))
    t2 = time.perf_counter()
    worst = 0.0
    for a, b in zip(naive, _naive.weights_from_model(engine)):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        worst = max(worst, float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30)))
        if not np.allclose(a, b, rtol=1e-3, atol=1e-3 * np.abs(b).max()):
            raise AssertionError(f"naive and engine weight gradients differ (L={p.depth}, "
                                 f"T={p.steps}, rule={rule.rule}): max |diff| "
                                 f"{np.abs(a - b).max():.3g}, max |g| {np.abs(b).max():.3g}")
    return worst, t1 - t0, t2 - t1


def bench_naive(depth: int, steps: int, target: float, rounds: int) -> None:
    print(f"\n[5] engine weight_grads against bench/_naive.py, L = {depth}, T = {steps}, "
          f"{rounds} rounds")
    p = make_problem(depth, steps)
    rule = pcviz.RuleConfig(rule="pcalm", steps=steps, eta=ETA, rho=RHO, alpha=ALPHA,
                            record=False)
    err_alm, first_engine, first_naive = check_naive(p, rule)
    err_pc, _, _ = check_naive(p, pcviz.RuleConfig(rule="pc", steps=steps, eta=ETA, rho=RHO,
                                                   record=False))
    print(f"  same weight gradients: max relative error PC-ALM {err_alm:.2e}, PC {err_pc:.2e} "
          f"(rtol 1e-3)")
    print(f"  first call (compile + run): engine {first_engine:.2f} s, naive {first_naive:.2f} s")
    ws, statics = _naive.weights_from_model(p.model), _naive.statics_from_model(p.model)
    fns = {
        "engine": lambda: jax.block_until_ready(pcviz.weight_grads(p.model, p.x, p.y, rule)[0]),
        "naive": lambda: jax.block_until_ready(_naive.naive_weight_grads(
            ws, p.x, p.y, ETA, RHO, ALPHA, statics=statics, steps=steps)),
    }
    s = interleaved(fns, rounds)
    for name in fns:
        print(f"  {name:8s} {ms(med(s, name))}/weight gradient")
    speedup = paired_ratio(s, "naive", "engine")
    report(f"naive / engine time (L={depth},T={steps})", speedup, f">= {target:.2f}",
           speedup >= target)
    report(f"  naive / engine first call (L={depth},T={steps})", first_naive / first_engine,
           None, None)


# ------------------------------------------------------------------------------------------
# 6. Achieved FLOP/s
# ------------------------------------------------------------------------------------------


def inference_flops(depth: int, steps: int) -> float:
    """Matmul FLOPs of one inference run: per step, the batched hidden prediction and its
    transpose (2 x 2 (L-2) B N^2) and the readout and its transpose (2 x 2 B N K); the input
    layer's prediction W_1 x is loop-invariant, counted once (2 B D N)."""
    hidden = 2 * (depth - 2) * BATCH * WIDTH * WIDTH
    readout = 2 * BATCH * WIDTH * OUTPUT
    return steps * (2 * hidden + 2 * readout) + 2 * BATCH * INPUT * WIDTH


@partial(jax.jit, static_argnames=("repeats",))
def chained_matmul(w, h, *, repeats):
    scale = 1.0 / np.sqrt(w.shape[-1])
    return jax.lax.fori_loop(
        0, repeats, lambda _, v: scale * jnp.einsum("lnm,lbm->lbn", w, v), h
    )


@partial(jax.jit, static_argnames=("steps",))
def engine_inference(model, x, y, *, steps):
    state, _ = infer(model, x, y, steps=steps, eta=ETA, rho=RHO, alpha=ALPHA, record=False)
    return state.h


def bench_flops(depth: int, steps: int, rounds: int) -> None:
    print(f"\n[6] achieved FLOP/s, L = {depth}, T = {steps}, {rounds} rounds")
    p = make_problem(depth, steps)
    h = jax.random.normal(jax.random.PRNGKey(3), (depth - 2, BATCH, WIDTH), jnp.float32)
    w = p.model.w_hidden
    fns = {
        "engine_infer": lambda: jax.block_until_ready(
            engine_inference(p.model, p.x, p.y, steps=steps)),
        "einsum_x2T": lambda: jax.block_until_ready(chained_matmul(w, h, repeats=2 * steps)),
    }
    s = interleaved(fns, rounds)
    engine_gf = inference_flops(depth, steps) / med(s, "engine_infer") / 1e9
    matmul_gf = 2 * steps * 2 * (depth - 2) * BATCH * WIDTH**2 / med(s, "einsum_x2T") / 1e9
    print(f"  engine inference loop: {ms(med(s, 'engine_infer'))} for "
          f"{inference_flops(depth, steps) / 1e9:.3f} GFLOP -> {engine_gf:.1f} GFLOP/s")
    print(f"  chained batched einsum ({2 * steps} x (L-2, N, N) @ (L-2, B, N)): "
          f"{ms(med(s, 'einsum_x2T'))} -> {matmul_gf:.1f} GFLOP/s")
    tag = f"L={depth},T={steps}"
    report(f"engine GFLOP/s ({tag})", engine_gf, None, None, "{:.1f}")
    report(f"batched einsum GFLOP/s ({tag})", matmul_gf, None, None, "{:.1f}")
    report(f"engine / einsum FLOP/s ({tag})", engine_gf / matmul_gf, None, None)


# ------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small shapes, under a minute")
    args = parser.parse_args()
    begin = time.perf_counter()
    print(f"pcviz engine benchmark ({'quick' if args.quick else 'full'}): jax {jax.__version__}, "
          f"{jax.devices()[0].platform}, {os.cpu_count()} cores, "
          f"{platform.processor() or platform.machine()}, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"width {WIDTH}, batch {BATCH}, D {INPUT}, K {OUTPUT}, relu, muPC, "
          f"eta {ETA}, rho {RHO}, alpha {ALPHA}, float32")

    if args.quick:
        bench_compile((8, 128), reps=2)
        bench_step_ratios(16, 32, rounds=5)
        bench_naive(32, 64, 1.5, rounds=5)
        bench_flops(32, 64, rounds=5)
    else:
        bench_compile((8, 128), reps=5)
        bench_step_ratios(32, 64, rounds=15)
        bench_step_ratios(128, 256, rounds=9)
        bench_naive(32, 64, 1.5, rounds=15)
        bench_naive(128, 256, 2.0, rounds=9)
        bench_flops(32, 64, rounds=15)
        bench_flops(128, 256, rounds=9)

    print_summary()
    print(f"total {time.perf_counter() - begin:.0f} s, load average at the end "
          f"{os.getloadavg()[0]:.2f} (values on a loaded machine are noisy)")


if __name__ == "__main__":
    main()
