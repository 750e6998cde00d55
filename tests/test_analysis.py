"""Tests for pcviz.analysis: arrival times, front fits, cosines."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from pcviz.analysis import (
    CreditFront,
    FrontFit,
    arrival_steps,
    cosine,
    credit_front,
    diffusion_reach,
    distance_from_output,
    diverged_rules,
    fit_front,
    fit_front_speed,
    frame_steps,
    front_speed,
    merge_probes,
    predicted_arrival,
    profile_frames,
    tree_cosine,
)


def test_arrival_steps_hand_built():
    bp = np.array([2.0, 1.0, 4.0, 0.0, np.nan])
    credit = np.array(
        [
            [0.0, 0.6, 0.0, 5.0, 5.0],  # step 1: layer 1 reaches 0.5 * 1.0
            [0.9, 0.1, 1.0, 5.0, 5.0],  # step 2: layer 0 still below 1.0; layer 1 dips
            [1.0, 0.7, 1.9, 5.0, 5.0],  # step 3: layer 0 reaches exactly 0.5 * 2.0
        ]
    )
    arrival = arrival_steps(credit, bp)
    # 1-based; layer 2 never reaches 2.0; layers 3, 4 have no usable reference.
    np.testing.assert_array_equal(arrival, [3, 1, -1, -1, -1])
    assert arrival.dtype.kind == "i"
    np.testing.assert_array_equal(arrival_steps(credit, bp, fraction=0.2), [2, 1, 2, -1, -1])


def test_arrival_steps_rejects_bad_shapes():
    with pytest.raises(ValueError, match="bp_adjoint"):
        arrival_steps(np.ones((3, 4)), np.ones(3))
    with pytest.raises(ValueError, match="fraction"):
        arrival_steps(np.ones((3, 4)), np.ones(4), fraction=0.0)


def test_distance_from_output():
    np.testing.assert_array_equal(distance_from_output(5), [4, 3, 2, 1])
    with pytest.raises(ValueError, match="num_layers"):
        distance_from_output(1)


def test_fit_front_wave_slope_one():
    distance = distance_from_output(33)
    fit = fit_front(distance * 2)  # a wave at 1/2 layer per step
    assert isinstance(fit, FrontFit)
    assert fit.slope == pytest.approx(1.0, abs=1e-9)
    assert fit.intercept == pytest.approx(math.log(2.0), abs=1e-9)
    assert fit.r2 == pytest.approx(1.0)
    assert (fit.num_layers_reached, fit.fraction_reached) == (32, 1.0)
    rounded = fit_front(np.ceil(predicted_arrival(distance, 1.0, 0.3)).astype(int))
    assert rounded.slope == pytest.approx(1.0, abs=0.05)


def test_fit_front_diffusion_slope_two_with_unreached_layers():
    distance = distance_from_output(21)
    arrival = np.where(distance <= 10, 3 * distance**2, -1)
    fit = fit_front(arrival)
    assert fit.slope == pytest.approx(2.0, abs=1e-9)
    assert fit.num_layers_reached == 10
    assert fit.fraction_reached == pytest.approx(0.5)


def test_fit_front_too_few_points_is_nan():
    fit = fit_front(np.array([-1, -1, -1, 4, 2]))
    assert math.isnan(fit.slope) and math.isnan(fit.intercept) and math.isnan(fit.r2)
    assert fit.num_layers_reached == 2
    assert fit.fraction_reached == pytest.approx(0.4)


def test_theory_speeds():
    assert front_speed(1.0, 0.25) == pytest.approx(0.5)
    np.testing.assert_allclose(predicted_arrival(np.array([1, 4]), 1.0, 0.25), [2.0, 8.0])
    assert diffusion_reach(0.25, 1.0, 64) == pytest.approx(4.0)
    with pytest.raises(ValueError, match="alpha"):
        predicted_arrival(np.array([1]), 0.0, 0.25)


def _linear_chain_credit(depth, steps, *, eta, rho, alpha):
    """Credit |lambda_i + rho r_i| of PC-ALM on a width-1 identity residual chain."""
    n = depth - 1
    jac = np.eye(n) - np.eye(n, k=-1)
    h, lam, credit = np.zeros(n), np.zeros(n), []
    for _ in range(steps):
        grad = jac.T @ (lam + rho * (jac @ h))
        grad[-1] += h[-1] - 1.0  # output loss 1/2 (h_top - 1)^2
        h = h - eta * grad
        r = jac @ h
        credit.append(np.abs(lam + rho * r))
        lam = lam + alpha * r
    return np.array(credit)  # BP adjoint of every layer is |h_top - y| = 1


def test_linear_chain_pcalm_is_a_wave_and_pc_stalls():
    depth, eta = 64, 0.25
    bp = np.ones(depth - 1)
    alm = arrival_steps(_linear_chain_credit(depth, 4 * depth, eta=eta, rho=1.0, alpha=1.0), bp)
    fit = fit_front(alm)
    assert fit.fraction_reached == 1.0
    assert alm.max() <= 2.2 * depth
    assert fit.slope == pytest.approx(1.0, abs=0.1)
    assert alm[0] == pytest.approx(predicted_arrival(depth - 1, 1.0, eta), rel=0.1)
    pc = arrival_steps(_linear_chain_credit(depth, 4 * depth, eta=eta, rho=1.0, alpha=0.0), bp)
    assert fit_front(pc).fraction_reached < 0.1


def test_cosine_edge_cases():
    assert cosine(np.zeros(3), np.ones(3)) == 0.0
    assert cosine(np.ones((2, 2)), np.ones(4)) == pytest.approx(1.0)
    assert cosine([1.0, 0.0], [0.0, 2.0]) == pytest.approx(0.0)
    assert cosine([1.0, 2.0], [-2.0, -4.0]) == pytest.approx(-1.0)
    assert cosine(jnp.array([3.0, 4.0]), np.array([4.0, 3.0])) == pytest.approx(24 / 25)
    with pytest.raises(ValueError, match="same size"):
        cosine(np.ones(3), np.ones(4))


def test_tree_cosine_concatenates_leaves():
    a = {"w": np.array([1.0, 0.0]), "b": jnp.array([[0.0]]), "skip": None}
    b = {"w": np.array([0.0, 1.0]), "b": jnp.array([[1.0]]), "skip": None}
    # Overall vectors (1, 0, 0) and (0, 1, 1): orthogonal, though neither leaf is zero.
    assert tree_cosine(a, b) == pytest.approx(0.0)
    c = {"w": np.array([1.0, 1.0]), "b": jnp.array([[1.0]]), "skip": None}
    assert tree_cosine(b, c) == pytest.approx(2 / math.sqrt(6))
    assert tree_cosine(a, a) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="structure"):
        tree_cosine(a, {"w": np.ones(2)})


def test_fit_front_speed_of_a_wave_and_too_few_layers():
    distance = distance_from_output(33)
    assert fit_front_speed(4 * distance) == pytest.approx(0.25)  # 1 layer per 4 steps
    assert math.isnan(fit_front_speed(np.array([2, 1, -1, -1])))  # two layers: no fit
    assert math.isnan(fit_front_speed(np.array([5, 5, 5, -1])))  # all at once: no speed


def test_linear_chain_front_speed_is_the_theory():
    depth, eta = 64, 0.25
    credit = _linear_chain_credit(depth, 4 * depth, eta=eta, rho=1.0, alpha=1.0)
    arrival = arrival_steps(credit, np.ones(depth - 1))
    assert fit_front_speed(arrival) == pytest.approx(front_speed(1.0, eta), rel=0.1)


def test_credit_front_counts_layers_reached_by_a_step():
    arrival = np.array([9, 7, 5, 3, 1, -1])
    front = credit_front(arrival, step=5)
    assert isinstance(front, CreditFront)
    assert (front.reached, front.total) == (3, 6)
    assert front.slope == pytest.approx(fit_front(arrival).slope)
    assert front.speed == pytest.approx(fit_front_speed(arrival))
    assert credit_front(arrival, step=100).reached == 5


def test_frame_steps_spread_over_the_run():
    np.testing.assert_array_equal(frame_steps(5), [1, 2, 3, 4, 5])
    frames = frame_steps(1000, max_frames=100)
    assert len(frames) == 100 and frames[0] == 1 and frames[-1] == 1000
    with pytest.raises(ValueError, match="steps"):
        frame_steps(0)


def test_profile_frames_rows_reached_and_axis_top():
    credit = {"pc": np.arange(12.0).reshape(6, 2), "pcalm": np.full((6, 2), np.nan)}
    frames = profile_frames(credit, np.array([4.0, 40.0]), max_frames=3)
    np.testing.assert_array_equal(frames.steps, [1, 4, 6])  # rounded linspace(1, 6, 3)
    np.testing.assert_array_equal(frames.credit["pc"], credit["pc"][[0, 3, 5]])
    np.testing.assert_array_equal(frames.reached["pc"], [[False, False], [True, False],
                                                         [True, False]])
    assert not frames.reached["pcalm"].any()
    assert frames.top == pytest.approx(1.05 * 40.0)


def test_diverged_rules_looks_at_the_last_step():
    blown = np.array([[1.0, 2.0], [np.inf, np.nan]])
    recovered = np.array([[np.nan, np.nan], [1.0, np.nan]])
    assert diverged_rules({"pc": recovered, "pcalm": blown}) == ["pcalm"]
    assert diverged_rules({}) == []


def test_merge_probes_joins_rules():
    from pcviz.runs import ProbeResult

    fit = fit_front(np.array([1, 2, 3]))
    pc = ProbeResult(0.25, 8, {"pc": "tel-pc"}, {"pc": np.ones(3)}, {"pc": fit})
    alm = ProbeResult(0.25, 8, {"pcalm": "tel-alm"}, {"pcalm": np.ones(3)}, {"pcalm": fit})
    merged = merge_probes([pc, alm])
    assert isinstance(merged, ProbeResult) and (merged.eta, merged.steps) == (0.25, 8)
    assert list(merged.telemetry) == ["pc", "pcalm"] and set(merged.fits) == {"pc", "pcalm"}
    with pytest.raises(ValueError):
        merge_probes([])
