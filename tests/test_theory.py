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
    for i, alpha in enumerate(alphas):
        for j, eta in enumerate(etas):
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
