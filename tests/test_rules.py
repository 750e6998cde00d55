"""The maths of the three rules: exactness, PC as alpha = 0, telemetry, the ballistic wave."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import pcviz
from pcviz.analysis import arrival_steps, fit_front
from pcviz.rules import lagrangian, residuals, state_gradient


def _batch(key, cfg, batch):
    kx, ky = jax.random.split(key)
    x = jax.random.normal(kx, (batch, cfg.input_dim))
    labels = jax.random.randint(ky, (batch,), 0, cfg.output_dim)
    return x, jax.nn.one_hot(labels, cfg.output_dim, dtype=x.dtype)


def _flat(tree):
    return jnp.concatenate([leaf.ravel() for leaf in jax.tree_util.tree_leaves(tree)])


def _rel_error(a, b):
    a, b = _flat(a), _flat(b)
    return float(jnp.linalg.norm(a - b) / jnp.linalg.norm(b))


def _cos(a, b):
    a, b = _flat(a), _flat(b)
    return float(a @ b / (jnp.linalg.norm(a) * jnp.linalg.norm(b)))


def test_pcalm_gives_bp_gradient_exactly_in_linear_net():
    depth = 12
    with jax.enable_x64(True):
        cfg = pcviz.ModelConfig(depth=depth, width=8, activation="linear", input_dim=5,
                                output_dim=3)
        model = pcviz.init_model(cfg, jax.random.PRNGKey(0))
        assert model.w_hidden.dtype == jnp.float64
        x, y = _batch(jax.random.PRNGKey(1), cfg, 4)
        bp, _ = pcviz.weight_grads(model, x, y, pcviz.RuleConfig(rule="bp"))
        steps = 2000 * depth
        alm, _ = pcviz.weight_grads(model, x, y, pcviz.RuleConfig(rule="pcalm", steps=steps,
                                                                   eta=0.25, record=False))
        pc, _ = pcviz.weight_grads(model, x, y, pcviz.RuleConfig(rule="pc", steps=steps,
                                                                 eta=0.25, record=False))
        short, _ = pcviz.weight_grads(model, x, y, pcviz.RuleConfig(rule="pcalm", steps=depth,
                                                                     eta=0.25, record=False))
        assert _rel_error(alm, bp) < 1e-6
        assert _rel_error(short, bp) > 1e-2  # exactness needs the steps: the test can fail
        assert _rel_error(pc, bp) > 0.1
        assert _cos(pc, bp) < 0.95


def test_alpha_zero_is_pc_bit_for_bit(key):
    cfg = pcviz.ModelConfig(depth=6, width=8, activation="tanh", input_dim=5, output_dim=3)
    model = pcviz.init_model(cfg, key)
    x, y = _batch(jax.random.PRNGKey(1), cfg, 8)
    pc = pcviz.weight_grads(model, x, y, pcviz.RuleConfig(rule="pc", steps=9, alpha=3.0))
    alm0 = pcviz.weight_grads(model, x, y, pcviz.RuleConfig(rule="pcalm", steps=9, alpha=0.0))
    alm1 = pcviz.weight_grads(model, x, y, pcviz.RuleConfig(rule="pcalm", steps=9, alpha=1.0))
    for a, b in zip(jax.tree_util.tree_leaves(pc), jax.tree_util.tree_leaves(alm0)):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(pc[1].multiplier, alm1[1].multiplier)
    np.testing.assert_array_equal(pc[1].multiplier, 0.0)


def _reference_run(model, x, y, steps, eta, rho, alpha):
    """Algorithm 1 written plainly with jax.grad of the Lagrangian (independent of the engine)."""
    h = model.states(x)
    lam = jnp.zeros_like(h)
    summed = lambda h_, lam_: lagrangian(model, x, y, h_, lam_, rho) * x.shape[0]  # noqa: E731
    rows = []
    for t in range(steps):
        if t > 0:
            lam = lam + alpha * residuals(model, x, h)
        h = h - eta * jax.grad(summed)(h, lam)
        rows.append((h, lam, residuals(model, x, h)))
    return rows


def test_telemetry_means_what_the_contract_says(key):
    depth, steps, rho, alpha, eta = 5, 7, 0.7, 0.9, 0.2
    cfg = pcviz.ModelConfig(depth=depth, width=4, activation="tanh", input_dim=3, output_dim=2)
    model = pcviz.init_model(cfg, key)
    x, y = _batch(jax.random.PRNGKey(2), cfg, 3)
    rcfg = pcviz.RuleConfig(rule="pcalm", steps=steps, eta=eta, rho=rho, alpha=alpha)
    _, tel = pcviz.weight_grads(model, x, y, rcfg)
    for field in ("credit", "error", "multiplier", "alignment"):
        assert getattr(tel, field).shape == (steps, depth - 1)
    assert tel.energy.shape == (steps, depth)
    assert tel.bp_adjoint.shape == (depth - 1,)
    rms = lambda v: np.sqrt(np.mean(np.sum(np.asarray(v) ** 2, -1), -1))  # noqa: E731
    for t, (h, lam, r) in enumerate(_reference_run(model, x, y, steps, eta, rho, alpha)):
        np.testing.assert_allclose(tel.credit[t], rms(lam + rho * r), rtol=2e-4, atol=1e-6)
        np.testing.assert_allclose(tel.error[t], rms(r), rtol=2e-4, atol=1e-6)
        np.testing.assert_allclose(tel.multiplier[t], rms(lam), rtol=2e-4, atol=1e-6)
        total = lagrangian(model, x, y, h, lam, rho) + np.mean(np.sum(lam**2, (0, 2))) / (2 * rho)
        np.testing.assert_allclose(np.sum(tel.energy[t]), total, rtol=2e-4)
    delta = pcviz.bp_adjoints(model, x, y)
    np.testing.assert_allclose(tel.bp_adjoint, rms(delta), rtol=1e-5)


def test_layer_order_pc_credit_starts_at_the_output(key):
    cfg = pcviz.ModelConfig(depth=8, width=16, activation="relu", input_dim=6, output_dim=4)
    model = pcviz.init_model(cfg, key)
    x, y = _batch(jax.random.PRNGKey(3), cfg, 16)
    _, tel = pcviz.weight_grads(model, x, y, pcviz.RuleConfig(rule="pc", steps=4, eta=0.2))
    first = np.asarray(tel.credit[0])
    assert first[-1] > 100 * max(first[:-1].max(), 1e-12)  # column -1 is nearest the output
    assert tel.credit[3, -2] > tel.credit[0, -2]  # later rows are later steps


def test_state_gradient_is_the_gradient_of_the_lagrangian(key):
    cfg = pcviz.ModelConfig(depth=6, width=5, activation="gelu", input_dim=4, output_dim=3)
    model = pcviz.init_model(cfg, key)
    x, y = _batch(jax.random.PRNGKey(4), cfg, 3)
    h = model.states(x) + 0.1 * jax.random.normal(jax.random.PRNGKey(5), (5, 3, 5))
    lam = 0.3 * jax.random.normal(jax.random.PRNGKey(6), h.shape)
    credit = lam + 1.5 * residuals(model, x, h)
    expected = jax.grad(lambda h_: lagrangian(model, x, y, h_, lam, 1.5) * 3)(h)
    np.testing.assert_allclose(state_gradient(model, h, y, credit), expected, rtol=1e-4,
                               atol=1e-6)


def test_auto_eta_is_inverse_top_eigenvalue(key):
    cfg = pcviz.ModelConfig(depth=5, width=3, activation="tanh", input_dim=2, output_dim=2)
    model = pcviz.init_model(cfg, key)
    x = jax.random.normal(jax.random.PRNGKey(7), (1, 2))
    h = model.states(x)
    jac = jax.jacfwd(lambda h_: residuals(model, x, h_).ravel())(h).reshape(h.size, h.size)
    top = np.linalg.eigvalsh(np.asarray(jac.T @ jac)).max()
    np.testing.assert_allclose(float(pcviz.auto_eta(model, x)), 1.0 / top, rtol=1e-3)


@pytest.mark.slow
def test_ballistic_wave_against_diffusion():
    depth = 64
    cfg = pcviz.ModelConfig(depth=depth, width=32, activation="relu", input_dim=20,
                            output_dim=10)
    model = pcviz.init_model(cfg, jax.random.PRNGKey(0))
    x, y = _batch(jax.random.PRNGKey(1), cfg, 16)
    tels = {
        rule: pcviz.weight_grads(model, x, y, pcviz.RuleConfig(rule=rule, steps=4 * depth,
                                                               eta=0.25, alpha=1.0))[1]
        for rule in ("pc", "pcalm")
    }
    alm = arrival_steps(np.asarray(tels["pcalm"].credit), np.asarray(tels["pcalm"].bp_adjoint))
    assert np.all(alm >= 1) and alm.max() <= 2 * depth  # every layer within 2L steps
    fit = fit_front(alm)
    assert 0.85 < fit.slope < 1.15 and fit.r2 > 0.95  # a wave: arrival linear in depth
    pc = arrival_steps(np.asarray(tels["pc"].credit), np.asarray(tels["pc"].bp_adjoint))
    assert pc[0] == -1 and np.sum(pc >= 1) <= 8  # diffusion reaches only the top few layers


@pytest.mark.parametrize("param", ["mupc", "sp"])
def test_forward_scale_across_depth(param):
    scales = []
    for depth in (8, 64, 512):
        cfg = pcviz.ModelConfig(depth=depth, width=64, activation="relu", param=param,
                                input_dim=32, output_dim=10)
        model = pcviz.init_model(cfg, jax.random.PRNGKey(depth))
        x = jax.random.normal(jax.random.PRNGKey(1), (32, 32))
        h = model.states(x)
        scales.append(float(jnp.sqrt(jnp.mean(h[-1] ** 2))))
    if param == "mupc":
        assert all(0.2 < s < 5 for s in scales), scales
    else:
        assert scales[-1] > 1e3 * scales[0], scales  # SP residual nets blow up with depth


def test_second_call_compiles_nothing(key):
    from pcviz.rules._grads import _inference_grads

    cfg = pcviz.ModelConfig(depth=7, width=6, input_dim=3, output_dim=2)
    rcfg = pcviz.RuleConfig(rule="pcalm", steps=5, eta=0.2)
    x, y = _batch(key, cfg, 4)
    pcviz.weight_grads(pcviz.init_model(cfg, key), x, y, rcfg)
    size = _inference_grads._cache_size()
    other = pcviz.init_model(cfg, jax.random.PRNGKey(9))
    pcviz.weight_grads(other, x, y, pcviz.RuleConfig(rule="pc", steps=5, eta=0.3, rho=2.0))
    assert _inference_grads._cache_size() == size
