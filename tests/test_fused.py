"""The fused CPU kernel of the inference loop against the `lax.scan` it replaces: the same
states, errors, multipliers and telemetry, in float64 (to rounding) and float32, for every
activation, with and without skips, at widths the kernel has a compiled shape for and at
others, for stacked rules under `vmap`; that the kernel is built and in use on a CPU that runs
it, and only where it is the faster."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import pcviz
from pcviz import _steps
from pcviz.rules import _fused, infer

INFER = dict(eta=0.2, rho=1.0, alpha=0.7)

pytestmark = pytest.mark.skipif(not _fused.cpu_runs_kernel(),
                                reason="the fused kernel is built for x86-64 CPUs with "
                                       "AVX-512 or AVX2")


def _problem(*, depth, width, activation, param="mupc", skip=True, batch=6, seed=0):
    cfg = pcviz.ModelConfig(depth=depth, width=width, activation=activation, param=param,
                            skip=skip, input_dim=5, output_dim=3)
    k_model, k_x, k_y = jax.random.split(jax.random.PRNGKey(seed), 3)
    model = pcviz.init_model(cfg, k_model)
    x = jax.random.normal(k_x, (batch, 5), model.w_in.dtype)
    y = jax.nn.one_hot(jax.random.randint(k_y, (batch,), 0, 3), 3, dtype=model.w_in.dtype)
    return model, x, y


def _both(model, x, y, *, steps, record, **infer_kwargs):
    kwargs = {**INFER, **infer_kwargs}
    run = jax.jit(lambda m, a, b, fused: infer(m, a, b, steps=steps, record=record,
                                                   fused=fused, **kwargs),
                  static_argnames="fused")
    return run(model, x, y, fused=False), run(model, x, y, fused=True)


def _assert_close(scan, fused, *, rtol, atol):
    """Every field equal within the tolerances; the alignment only where the credit is more
    than rounding (a cosine of rounding noise, in a layer no credit has reached, is noise)."""
    for name, a, b in zip(("state", "telemetry"), scan, fused):
        if a is None:
            assert b is None
            continue
        for field, u, v in zip(a._fields, a, b):
            u, v = np.asarray(u), np.asarray(v)
            if field == "alignment":
                credit = np.asarray(a.credit)
                reached = credit > 1e-6 * credit.max()
                assert reached.any()
                u, v = u[reached], v[reached]
            np.testing.assert_allclose(v, u, rtol=rtol, atol=atol, err_msg=f"{name}.{field}")


def test_the_kernel_is_built_and_used_on_this_cpu():
    assert jax.default_backend() == "cpu"
    assert _fused.library() is not None, "build the kernel: pip install -e ."
    model, x, y = _problem(depth=4, width=16, activation="relu")
    assert _fused.supports(model, jnp.float32) and _fused.supports(model, jnp.float64)
    assert not _fused.supports(model, jnp.bfloat16)
    text = jax.jit(lambda m: infer(m, x, y, steps=3, **INFER)[0].h).lower(model).as_text()
    assert "pcviz_infer_recorded_f32" in text


def test_infer_chooses_the_kernel_only_where_it_is_the_faster():
    """ReLU and linear units at the widths with register-blocked products; not tanh or GELU
    (scalar libm calls), nor other widths, where XLA's loop is faster."""
    for activation, width, chosen in [("relu", 32, True), ("linear", 64, True),
                                      ("relu", 16, True), ("tanh", 32, False),
                                      ("gelu", 32, False), ("relu", 8, False),
                                      ("relu", 128, False)]:
        model, x, y = _problem(depth=4, width=width, activation=activation)
        assert _fused.supports(model, jnp.float32) is chosen, (activation, width)
        text = jax.jit(lambda m, a, b: infer(m, a, b, steps=3, **INFER)[0].h).lower(
            model, x, y).as_text()
        assert ("pcviz_infer" in text) is chosen, (activation, width)


def test_the_kernel_can_be_turned_off_to_compare(monkeypatch):
    monkeypatch.setenv(_fused.OFF_ENV, "0")
    model, x, y = _problem(depth=4, width=16, activation="relu")
    assert not _fused.supports(model, jnp.float32)
    text = jax.jit(lambda m: infer(m, x, y, steps=3, **INFER)[0].h).lower(model).as_text()
    assert "pcviz_infer" not in text


@pytest.mark.parametrize("activation", ["linear", "tanh", "relu", "gelu"])
@pytest.mark.parametrize("param,skip", [("mupc", True), ("sp", False)])
@pytest.mark.parametrize("record", [True, False])
def test_float64_matches_the_scan_to_rounding(activation, param, skip, record):
    with jax.enable_x64(True):
        model, x, y = _problem(depth=6, width=16, activation=activation, param=param, skip=skip)
        assert model.w_hidden.dtype == jnp.float64
        scan, fused = _both(model, x, y, steps=9, record=record)
        _assert_close(scan, fused, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("width,batch", [(32, 64), (16, 7), (5, 3), (8, 13), (64, 4)])
def test_every_width_and_batch_matches_in_float64(width, batch):
    """The compiled widths (16, 32, 64), a width between vectors (8), an odd one, and
    batches that are not a multiple of the kernel's rows."""
    with jax.enable_x64(True):
        model, x, y = _problem(depth=5, width=width, activation="tanh", batch=batch)
        scan, fused = _both(model, x, y, steps=7, record=True)
        _assert_close(scan, fused, rtol=1e-10, atol=1e-12)


def test_a_long_run_matches_in_float64():
    """The kernel takes the credit's and the multipliers' sums from three per element by the
    dual step's recursion over the steps: 64 steps of PC-ALM agree with the scan's direct
    sums to rounding."""
    with jax.enable_x64(True):
        model, x, y = _problem(depth=8, width=32, activation="relu", batch=24)
        scan, fused = _both(model, x, y, steps=64, record=True)
        _assert_close(scan, fused, rtol=1e-9, atol=1e-12)


def test_a_diverging_run_reports_the_same_non_finite_telemetry():
    """An activity step far too large overflows: the kernel's telemetry is not finite
    exactly where the scan's is not (a NaN, in a ReLU or in a sum, never becomes a number)."""
    model, x, y = _problem(depth=6, width=32, activation="relu", batch=16)
    (_, s_tel), (_, f_tel) = _both(model, x, y, steps=60, record=True, eta=40.0)
    assert not np.isfinite(np.asarray(s_tel.credit)).all()  # it does diverge
    for field in ("credit", "error", "multiplier", "energy"):
        u, v = np.asarray(getattr(s_tel, field)), np.asarray(getattr(f_tel, field))
        np.testing.assert_array_equal(np.isfinite(v), np.isfinite(u), err_msg=field)


def test_float32_matches_the_scan_at_the_papers_shape():
    model, x, y = _problem(depth=12, width=32, activation="relu", batch=64)
    (s_state, s_tel), (f_state, f_tel) = _both(model, x, y, steps=24, record=True)
    scale = float(jnp.max(jnp.abs(s_state.h)))
    for u, v in zip(s_state, f_state):
        np.testing.assert_allclose(np.asarray(v), np.asarray(u), atol=1e-5 * scale)
    for field in ("credit", "error", "multiplier", "energy", "bp_adjoint"):
        np.testing.assert_allclose(np.asarray(getattr(f_tel, field)),
                                   np.asarray(getattr(s_tel, field)), rtol=1e-3, atol=1e-6)
    reached = np.asarray(s_tel.credit) > 1e-3 * float(jnp.max(s_tel.credit))
    np.testing.assert_allclose(np.asarray(f_tel.alignment)[reached],
                               np.asarray(s_tel.alignment)[reached], atol=1e-3)


def test_stacked_rules_under_vmap_match_each_rule_alone():
    with jax.enable_x64(True):
        model, x, y = _problem(depth=5, width=16, activation="relu")
        alphas = jnp.asarray([0.0, 0.5, 1.0])
        stacked = jax.jit(jax.vmap(
            lambda m, a: infer(m, x, y, steps=8, eta=0.2, rho=1.0, alpha=a, record=True,
                               fused=True),
            in_axes=(0, 0)))(_steps.stack([model] * 3), alphas)
        for i, alpha in enumerate(alphas):
            alone = infer(model, x, y, steps=8, eta=0.2, rho=1.0, alpha=alpha, record=True,
                          fused=False)
            _assert_close(alone, jax.tree.map(lambda a, i=i: a[i], stacked),
                          rtol=1e-10, atol=1e-12)


def test_eta_rho_and_alpha_may_be_traced():
    with jax.enable_x64(True):
        model, x, y = _problem(depth=5, width=16, activation="gelu")
        run = jax.jit(lambda m, eta, rho, alpha, fused: infer(
            m, x, y, steps=6, eta=eta, rho=rho, alpha=alpha, record=True, fused=fused),
            static_argnames="fused")
        args = (model, jnp.asarray(0.15), jnp.asarray(0.8), jnp.asarray(0.4))
        _assert_close(run(*args, fused=False), run(*args, fused=True), rtol=1e-10, atol=1e-12)



@pytest.mark.parametrize("record", [False, True])
def test_a_batch_split_over_threads_gives_the_answer_of_one_thread(record):
    """The kernel splits the batch's rows into parts that its threads take in turn (37
    rows: four parts of 10, 10, 10 and 7 on two threads, in float64); the states are the
    same to the bit, and the telemetry's batch sums to rounding."""
    from pcviz import _devices

    with jax.enable_x64(True):
        model, x, y = _problem(depth=6, width=32, activation="relu", batch=37)
        assert model.w_hidden.dtype == jnp.float64
        answers = {}
        for threads in (1, 2, 0):
            token = _devices._KERNEL_THREADS.set(threads)
            try:  # read as the program is traced: a fresh jit each time
                program = jax.jit(lambda m, a, b: infer(
                    m, a, b, steps=7, record=record, fused=True, **INFER))
                answers[threads] = program(model, x, y)
                text = program.lower(model, x, y).as_text()
            finally:
                _devices._KERNEL_THREADS.reset(token)
            assert f"threads = {threads} : i64" in text
        for threads in (2, 0):
            np.testing.assert_array_equal(answers[threads][0].h, answers[1][0].h)
            _assert_close(answers[1], answers[threads], rtol=1e-12, atol=1e-13)
        _assert_close(_both(model, x, y, steps=7, record=record)[0], answers[2],
                      rtol=1e-9, atol=1e-10)


def test_a_step_laid_over_devices_gives_each_kernel_call_its_share_of_the_cores():
    from pcviz import _devices

    assert _devices.kernel_threads() == 0  # outside a laid-out program: the free cores
    if len(jax.devices()) < 2:
        pytest.skip("one device: nothing is laid over devices")
    mesh = _devices.step_mesh(2, work=_devices.SPLIT_WORK)
    with _devices.threads_per_device(mesh):
        assert _devices.kernel_threads() == max(1, _devices.usable_cores() // mesh.size)
    assert _devices.kernel_threads() == 0
