"""Tests for pcviz.theory: the per-mode linear theory of the PC-ALM iteration."""

import numpy as np
import pytest

from pcviz.theory import (
    Dispersion,
    chain_singular_values,
    dispersion,
    is_stable,
    mode_matrix,
    spectral_radius,
    stability_region,
    transient_eigenvalues,
)


def _pcalm_step(jac, b, h, lam, *, eta, rho, alpha):
    """The actual primal then dual update on linear constraints r = A h - b."""
    h = h - eta * jac.T @ (lam + rho * (jac @ h - b))
    return h, lam + alpha * (jac @ h - b)


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0, 3.0])
def test_mode_matrix_matches_simulated_iteration(alpha):
    rng = np.random.default_rng(0)
    n, eta, rho = 5, 0.07, 0.8
    jac, b = rng.normal(size=(n, n)), rng.normal(size=n)
    h = rng.normal(size=n)
    lam = np.zeros(n) if alpha == 0 else rng.normal(size=n)
    u, sigma, _ = np.linalg.svd(jac)
    state = np.stack([u.T @ (jac @ h - b), u.T @ lam], axis=-1)  # (modes, 2)
    m = mode_matrix(sigma, eta=eta, rho=rho, alpha=alpha)
    assert m.shape == (n, 2, 2)
    for _ in range(25):
        h, lam = _pcalm_step(jac, b, h, lam, eta=eta, rho=rho, alpha=alpha)
        state = np.einsum("kij,kj->ki", m, state)
        np.testing.assert_allclose(state[:, 0], u.T @ (jac @ h - b), atol=1e-9)
        np.testing.assert_allclose(state[:, 1], u.T @ lam, atol=1e-9)
    if alpha == 0:  # PC: the multiplier never moves, the residual mode decays by 1 - eta rho s2
        np.testing.assert_array_equal(lam, 0.0)
        np.testing.assert_allclose(m[:, 0, 0], 1 - eta * rho * sigma**2)


def test_mode_eigenvalues_are_those_of_the_full_iteration():
    rng = np.random.default_rng(1)
    n, eta, rho, alpha = 6, 0.05, 1.0, 2.0
    jac = rng.normal(size=(n, n))
    zeros = np.zeros(n)
    columns = []
    for e in np.eye(2 * n):  # the (h, lambda) map is linear when b = 0
        h, lam = _pcalm_step(jac, zeros, e[:n], e[n:], eta=eta, rho=rho, alpha=alpha)
        columns.append(np.concatenate([h, lam]))
    full = np.linalg.eigvals(np.array(columns).T)
    sigma = np.linalg.svd(jac, compute_uv=False)
    modes = transient_eigenvalues(sigma, eta=eta, rho=rho, alpha=alpha).ravel()
    assert np.abs(full[:, None] - modes[None, :]).min(axis=1).max() < 1e-8
    assert np.abs(modes[:, None] - full[None, :]).min(axis=1).max() < 1e-8
    radius = spectral_radius(sigma, eta=eta, rho=rho, alpha=alpha)
    assert radius.max() == pytest.approx(np.abs(full).max(), rel=1e-10)


def test_eigenvalues_match_numpy_and_determinant():
    sigma = np.linspace(0.0, 2.0, 41)
    m = mode_matrix(sigma, eta=0.25, rho=1.0, alpha=1.5)
    np.testing.assert_allclose(np.linalg.det(m), 1 - 0.25 * sigma**2, atol=1e-12)
    mu = transient_eigenvalues(sigma, eta=0.25, rho=1.0, alpha=1.5)
    assert mu.shape == (41, 2)
    ref = np.linalg.eigvals(m)
    np.testing.assert_allclose(np.sort_complex(mu.conj()), np.sort_complex(ref.conj()), atol=1e-7)
    assert np.all(mu[:, 0].imag >= 0)


@pytest.mark.parametrize("alpha", [0.3, 1.0, 4.0])
def test_complex_eigenvalues_have_modulus_sqrt_det(alpha):
    eta, rho = 0.2, 1.0
    sigma = np.linspace(0.01, 2.0, 200)
    mu = transient_eigenvalues(sigma, eta=eta, rho=rho, alpha=alpha)
    complex_ = np.abs(mu[:, 0].imag) > 1e-12
    assert complex_.sum() > 20
    expected = np.sqrt(1 - eta * rho * sigma[complex_] ** 2)
    np.testing.assert_allclose(np.abs(mu[complex_]), np.stack([expected] * 2, -1), rtol=1e-12)


def _grows(sigma, *, eta, rho, alpha, steps=4000):
    m = mode_matrix(sigma, eta=eta, rho=rho, alpha=alpha)
    state = np.array([1.0, 0.0])  # a residual, no multiplier: valid for PC too
    for _ in range(steps):
        state = m @ state
        if np.linalg.norm(state) > 1e3:
            return True
    assert np.linalg.norm(state) < 1.0  # neither growing nor merely bounded: decaying
    return False


@pytest.mark.parametrize("rho, alpha", [(1.0, 1.0), (1.0, 0.0), (0.5, 3.0), (2.0, 0.1)])
def test_stability_boundary(rho, alpha):
    sigma = 1.7
    s2 = sigma**2
    boundary = min(4 / (s2 * (2 * rho + alpha)), 2 / (rho * s2))
    for factor, stable in [(0.97, True), (1.03, False)]:
        eta = factor * boundary
        assert bool(is_stable(sigma, eta=eta, rho=rho, alpha=alpha)) is stable
        assert bool(spectral_radius(sigma, eta=eta, rho=rho, alpha=alpha) < 1) is stable
        assert _grows(sigma, eta=eta, rho=rho, alpha=alpha) is not stable


def test_alpha_zero_is_pc():
    sigma = np.array([0.3, 1.0, 1.9])
    eta, rho = 0.25, 1.5
    m = mode_matrix(sigma, eta=eta, rho=rho, alpha=0.0)
    np.testing.assert_allclose(m[:, 1], [[0.0, 1.0]] * 3)  # lambda stays 0
    radius = spectral_radius(sigma, eta=eta, rho=rho, alpha=0.0)
    np.testing.assert_allclose(radius, np.abs(1 - eta * rho * sigma**2))
    np.testing.assert_array_equal(
        is_stable(sigma, eta=eta, rho=rho, alpha=0.0), eta * rho * sigma**2 < 2
    )


def test_stability_region_orientation_and_worst_mode():
    etas = np.linspace(0.05, 1.0, 7)
    alphas = np.array([0.0, 1.0, 5.0])
    region = stability_region(etas, alphas, rho=1.0, sigma_max=2.0)
    assert region.shape == (3, 7)
    expected = etas[None, :] * 4.0 * (2.0 + alphas[:, None]) < 4.0
    np.testing.assert_array_equal(region, expected)
    sigmas = chain_singular_values(12)
    for alpha in alphas:
        for eta in etas:
            all_modes = is_stable(sigmas, eta=eta, rho=1.0, alpha=alpha).all()
            top = stability_region([eta], [alpha], rho=1.0, sigma_max=sigmas[0])[0, 0]
            assert all_modes == top


@pytest.mark.parametrize("num_layers", [2, 3, 8, 33])
def test_chain_singular_values_match_svd(num_layers):
    n = num_layers - 1
    jac = np.eye(n) - np.eye(n, k=-1)
    np.testing.assert_allclose(
        chain_singular_values(num_layers), np.linalg.svd(jac, compute_uv=False), atol=1e-12
    )


def test_chain_default_step_tends_to_a_quarter():
    assert 1 / chain_singular_values(129)[0] ** 2 == pytest.approx(0.25, abs=1e-3)


@pytest.mark.parametrize("eta, alpha", [(0.25, 1.0), (0.1, 2.0)])
def test_dispersion_wave_speed_and_heat_decay(eta, alpha):
    k = np.array([1e-3, 3e-3, 1e-2])
    wave = dispersion(k, eta=eta, rho=1.0, alpha=alpha)
    assert isinstance(wave, Dispersion)
    np.testing.assert_allclose(wave.phase_per_step / k, np.sqrt(alpha * eta), rtol=1e-3)
    heat = dispersion(k, eta=eta, rho=1.0, alpha=0.0)
    np.testing.assert_array_equal(heat.phase_per_step, 0.0)
    np.testing.assert_allclose(heat.decay_per_step / (eta * k**2), 1.0, rtol=1e-3)
    # PC-ALM's slow modes lose amplitude at half of PC's rate: |mu| = sqrt(1 - eta rho s2).
    np.testing.assert_allclose(wave.decay_per_step, heat.decay_per_step / 2, rtol=1e-3)


@pytest.mark.parametrize("eta, rho, alpha", [(0.25, 1.0, 1.0), (0.05, 5.0, 1.0)])
def test_dispersion_reports_the_slow_eigenvalue(eta, rho, alpha):
    k = np.linspace(0.1, 3.0, 30)
    out = dispersion(k, eta=eta, rho=rho, alpha=alpha)
    mu = transient_eigenvalues(2 * np.sin(k / 2), eta=eta, rho=rho, alpha=alpha)
    slow = np.abs(mu).max(axis=1)
    np.testing.assert_allclose(out.decay_per_step, -np.log(slow), rtol=1e-10)
    real = np.abs(mu[:, 0].imag) < 1e-12  # overdamped modes: no phase
    np.testing.assert_array_equal(out.phase_per_step[real], 0.0)
    assert bool(real.any() and not real.all()) is (rho == 5.0)


def test_bad_hyperparameters_raise():
    with pytest.raises(ValueError, match="eta"):
        mode_matrix(1.0, eta=0.0, rho=1.0, alpha=1.0)
    with pytest.raises(ValueError, match="alpha"):
        is_stable(1.0, eta=0.1, rho=1.0, alpha=-1.0)


# ------------------------------------------------------------- one configuration's theory


def test_theory_point_chain_limit_and_auto_eta():
    from pcviz.theory import theory_point

    chain = theory_point(8, eta="auto", rho=1.0, alpha=1.0)
    assert chain.sigma_max == pytest.approx(chain_singular_values(8)[0])
    assert chain.eta_auto and chain.eta == pytest.approx(1 / chain.sigma_max**2)
    limit = theory_point(8, eta=0.3, rho=2.0, alpha=0.5, sigma="limit")
    assert (limit.sigma_max, limit.eta, limit.rho, limit.alpha, limit.eta_auto) == \
        (2.0, 0.3, 2.0, 0.5, False)
    with pytest.raises(ValueError, match="sigma"):
        theory_point(8, eta=0.3, rho=1.0, alpha=1.0, sigma="huge")


def test_stability_grid_shows_the_point_and_the_boundary():
    from pcviz.theory import stability_grid, theory_point

    p = theory_point(8, eta=0.2, rho=1.0, alpha=6.0)
    etas, alphas, stable = stability_grid(p, size=(50, 40))
    assert stable.shape == (40, 50) and etas.max() >= p.eta and alphas.max() >= p.alpha
    assert stable.any() and not stable.all()  # the boundary crosses the grid
    np.testing.assert_array_equal(stable, stability_region(etas, alphas, rho=1.0,
                                                           sigma_max=p.sigma_max))


def test_chain_eigenvalues_and_csv():
    from pcviz.theory import chain_eigenvalues, eigenvalues_csv, theory_point

    p = theory_point(6, eta=0.25, rho=1.0, alpha=1.0)
    sigmas, mu = chain_eigenvalues(6, p)
    assert sigmas.shape == (5,) and mu.shape == (5, 2)
    np.testing.assert_allclose(mu, transient_eigenvalues(sigmas, eta=0.25, rho=1.0, alpha=1.0))
    rows = eigenvalues_csv(sigmas, mu).splitlines()
    assert rows[0].startswith("sigma,") and len(rows) == 6
    assert float(rows[1].split(",")[-1]) == pytest.approx(np.abs(mu[0]).max())


@pytest.mark.parametrize("alpha", [0.0, 2.0])
def test_dispersion_pair_stops_before_pc_flips_sign(alpha):
    from pcviz.theory import dispersion_pair, theory_point

    p = theory_point(16, eta=0.25, rho=1.0, alpha=alpha)
    pc, alm, used = dispersion_pair(p, num=50)
    assert used == (alpha or 1.0)
    assert pc.wavenumber.shape == (50,)
    assert (p.eta * p.rho * 4 * np.sin(pc.wavenumber / 2) ** 2).max() == pytest.approx(0.9)
    np.testing.assert_array_equal(pc.phase_per_step, 0.0)
    assert (alm.phase_per_step > 0).all()


# ------------------------------------------------------------------- float64 exactness


def test_exactness_steps_log_grid():
    from pcviz.theory import exactness_steps

    steps = exactness_steps(8, points=8, steps_per_layer=2000)
    assert steps[0] == 1 and steps[-1] == 16000 and len(steps) == 8
    assert np.all(np.diff(steps) > 0)
    assert list(exactness_steps(2, points=20, steps_per_layer=1)) == [1, 2]  # no duplicates
    with pytest.raises(ValueError, match="depth"):
        exactness_steps(1)


def test_exactness_pcalm_reaches_bp_and_pc_does_not():
    from pcviz.theory import exactness

    curve = exactness(3, eta="auto", rho=1.0, alpha=1.0, points=3, steps_per_layer=300)
    assert list(curve.steps) == [1, 30, 900]
    assert 0 < curve.eta < 1
    assert curve.errors["pcalm"][-1] < 1e-5 and curve.errors["pc"][-1] > 1e-2
    assert curve.errors["pc"][0] == pytest.approx(curve.errors["pcalm"][0])  # T = 1: alike


def test_exactness_point_refuses_bad_input_and_gathers_in_order():
    from pcviz.theory import ExactnessPoint, exactness_point, gather_exactness

    with pytest.raises(ValueError, match="steps=0"):
        exactness_point(3, 0, eta="auto", rho=1.0, alpha=1.0)
    with pytest.raises(ValueError):
        gather_exactness(3, [])
    points = [ExactnessPoint(10, 0.2, {"pc": 0.5, "pcalm": 0.1}),
              ExactnessPoint(1, 0.2, {"pc": 0.9, "pcalm": 0.9})]
    curve = gather_exactness(3, points)
    assert list(curve.steps) == [1, 10] and list(curve.errors["pcalm"]) == [0.9, 0.1]


def test_exactness_csv_and_json():
    import json

    from pcviz.theory import Exactness, exactness_csv, exactness_json

    curve = Exactness(4, 0.25, np.array([1, 8]), {"pc": np.array([0.5, np.nan]),
                                                   "pcalm": np.array([0.5, 1e-9])})
    assert exactness_csv(curve).splitlines() == [
        "T,pc_relative_error,pcalm_relative_error", "1,0.5,0.5", "8,nan,1e-09"]
    doc = json.loads(exactness_json(curve, rho=1.0, alpha=2.0))
    assert doc["relative_error"]["pc"] == [0.5, None] and doc["alpha"] == 2.0
    assert (doc["depth"], doc["dtype"], doc["steps"]) == (4, "float64", [1, 8])


def test_theory_command_on_the_run_service(run_service, tmp_path, capsys):
    import argparse
    import json

    from pcviz.cli_theory import add_theory_command

    parser = argparse.ArgumentParser()
    add_theory_command(parser.add_subparsers(dest="command"))
    out = tmp_path / "theory.json"
    args = parser.parse_args(["theory", "--depth", "3", "--points", "3", "--steps-per-layer",
                              "300", "--out", str(out)])
    document = args.handler(args)
    printed = capsys.readouterr().out
    assert "PC-ALM" in printed and "stable on the chain's worst mode" in printed
    assert document["command"] == "theory" and document["steps"] == [1, 30, 900]
    assert document["relative_error"]["pcalm"][-1] < 1e-5 < document["relative_error"]["pc"][-1]
    json.dumps(document)  # plain JSON
    with pytest.raises(SystemExit):
        parser.parse_args(["theory", "--eta", "fast"])
    bad = parser.parse_args(["theory", "--depth", "100"])
    with pytest.raises(ValueError, match="depth"):
        bad.handler(bad)
    assert not out.exists()  # --out is written by pcviz.cli's main, not by the handler
