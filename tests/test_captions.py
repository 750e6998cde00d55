"""Every caption's claim about its figure, computed from the data the figure shows.

For the defaults and each lecture preset, the data are built as the pages build them (the
credit page's probe at initialisation, a live-lab session after a few steps, the theory
page's exactness curve); each caption sentence that states a fact about a figure is checked
against `pcviz.claims` on those data, or, where the caption is written from the data, its
numbers are checked against the figure's own traces.
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pytest
import streamlit as st
from _logaxes import assert_readable_log_axes

from pcviz import claims, figures, theory
from pcviz.config import ModelConfig, RuleConfig, TrainConfig
from pcviz.runs import probe
from pcviz.train import Session
from pcviz.ui import _credit, _figs, _state, _text
from pcviz.ui import _theory as th
from pcviz.ui._presets import PRESETS, preset_values

DEFAULT = "Quick look (default)"
DEEP = ("PC stalls in deep narrow nets", "The ballistic wave")
LAB_STEPS = 20
"""Training steps before the lab's alignment and loss are read (as after a few seconds of
Play)."""


def _cases(names=tuple(PRESETS)):
    """Presets as test parameters, the 64-layer ones marked slow."""
    return [pytest.param(n, marks=pytest.mark.slow) if n in DEEP else n for n in names]


@functools.cache
def configs(name: str) -> tuple[ModelConfig, RuleConfig, TrainConfig]:
    """The configuration a preset sets, through the sidebar's own widget -> config path."""
    st.session_state.update(preset_values(name))
    st.session_state[_state._BASE] = (ModelConfig(), RuleConfig(), TrainConfig())
    return _state.configs_from_widgets()


@functools.cache
def credit_run(name: str) -> _credit.CreditRun:
    """The credit page's probe at initialisation for a preset (as `_credit._start_init`)."""
    model, rule, train = configs(name)
    result = probe(model, RuleConfig(steps=rule.steps, eta=rule.eta, rho=rule.rho,
                                     alpha=rule.alpha),
                   TrainConfig(rules=_credit.RULES, dataset=train.dataset,
                               batch_size=train.batch_size, seed=train.seed))
    return _credit.CreditRun(result, model.depth, rule.rho, rule.alpha, "at initialisation",
                             _text.eta_origin(auto=rule.eta == "auto"))


@functools.cache
def lab(name: str, steps: int = LAB_STEPS):
    """A live-lab session of a preset after `steps` training steps and its gradient
    comparison (what the lab's alignment figure draws)."""
    session = Session(*configs(name))
    session.step(steps)
    return session, session.gradient_comparison()


def _named(fig, name: str):
    (found,) = [t for t in fig.data if t.name == name]
    return np.asarray(found.y, dtype=np.float64)


def _starting(fig, prefix: str):
    (found,) = [t for t in fig.data if t.name and t.name.startswith(prefix)]
    return found


# ------------------------------------------------------------------ live lab: alignment


def test_alignment_caption_matches_the_figure_at_the_defaults():
    session, comparison = lab(DEFAULT)
    fig = _figs.alignment(comparison)
    depth = session.model_config.depth
    cos = np.asarray(_starting(fig, "PC (overall").y, dtype=np.float64)
    size = _named(fig, "PC size")
    np.testing.assert_allclose(cos, comparison.cosine["pc"][:-1], rtol=1e-6)
    np.testing.assert_allclose(size, comparison.norm_ratio["pc"][:-1], rtol=1e-6)
    # "a layer the credit has barely reached can point BP's way with an update thousands
    # of times too small": here some layers have cosine > 0.9 and less than 1/1000 of the size
    assert "point BP's way with an update thousands of times too small" in _text.ALIGNMENT
    assert claims.aligned_but_small(comparison.cosine["pc"], comparison.norm_ratio["pc"]) >= 1
    assert np.any((cos > 0.9) & (size < 1e-3))
    # the note under the figure is written from the same numbers the figure shows
    note = _text.alignment_note(comparison)
    assert f"PC: cosine {cos.min():.2f} to {cos.max():.2f}" in note
    small = int(np.sum(size < claims.SMALL_RATIO))
    assert f"under a tenth of BP's in {small} of {depth} layers" in note
    assert f"(layer {int(np.argmin(size)) + 1})" in note
    assert_readable_log_axes(fig, "lab alignment")


def test_alignment_note_without_norm_ratios_is_empty():
    assert _text.alignment_note({"pc": np.ones(3)}) == ""


# ------------------------------------------------------------------ presets


def _pc_reached_only_near_output(name):
    arrival = credit_run(name).result.arrivals["pc"]
    reached = np.flatnonzero(arrival >= 1)
    return reached.size > 0 and all(claims.region(i, arrival.size) == "output"
                                    for i in reached)


def _input_third(values):
    values = np.asarray(values, dtype=np.float64)[:-1]  # weight layers, not the overall
    return values[: values.size // 3]


def _loss_drop(session, rule):
    values = session.record(rule).loss.values
    return values[0] - float(np.mean(values[-5:]))


def _front(name, rule):
    return claims.front_summary(credit_run(name).result.arrivals[rule])


PRESET_CLAIMS = {
    DEFAULT: {
        "16-layer": lambda n: configs(n)[0].depth == 16,
        "ReLU net of width 32": lambda n: configs(n)[0].activation == "relu"
        and configs(n)[0].width == 32,
        "generated MNIST-like set": lambda n: configs(n)[2].dataset == "synthetic-mnist",
        "BP, PC and PC-ALM": lambda n: configs(n)[2].rules == ("bp", "pc", "pcalm"),
    },
    "PC stalls in deep narrow nets": {
        "64 layers of width 32": lambda n: configs(n)[0].depth == 64
        and configs(n)[0].width == 32,
        "T = 2L": lambda n: configs(n)[1].inference_steps(64) == 128,
        "PC's credit stays near the output": _pc_reached_only_near_output,
        "PC-ALM's reaches the input": lambda n: _front(n, "pcalm").input_step >= 1,
        "PC's weight gradient is unrelated to BP's (cosine near 0)": lambda n: float(
            np.mean(np.abs(_input_third(lab(n)[1].cosine["pc"])))) < 0.2,
        "millions of times smaller": lambda n: float(
            np.max(_input_third(lab(n)[1].norm_ratio["pc"]))) < 1e-6,
        "its loss falls more slowly": lambda n: _loss_drop(lab(n)[0], "pc")
        < _loss_drop(lab(n)[0], "pcalm"),
    },
    "The ballistic wave": {
        "η_h = 1/4, α = 1 and T = 4L": lambda n: (configs(n)[1].eta, configs(n)[1].alpha,
                                                 configs(n)[1].steps) == (0.25, 1.0, 256),
        "straight diagonal": lambda n: _front(n, "pcalm").kind == "wave"
        and _front(n, "pcalm").straightness >= 0.98,
        "moving √(αη_h) = 1/2 layer per step": lambda n: abs(_front(n, "pcalm").speed - 0.5)
        <= 0.05,
        "reaches the input near t = 2L": lambda n: abs(_front(n, "pcalm").input_step - 128)
        <= 0.15 * 128,
        "PC's bends like √t": lambda n: _front(n, "pc").kind == "heat",
        "dies out": lambda n: _front(n, "pc").reached <= _front(n, "pc").total / 10,
    },
    "Linear nets: exact BP": {
        "linear 12-layer net of width 16 on a linear teacher": lambda n: (
            configs(n)[0].activation, configs(n)[0].depth, configs(n)[0].width,
            configs(n)[2].dataset) == ("linear", 12, 16, "teacher"),
        "T = 128L": lambda n: configs(n)[1].steps == 128 * 12,
        "cosine 1.000": lambda n: float(np.min(lab(n, 1)[1].cosine["pcalm"][:-1])) >= 0.9995,
        "the same size (within 1 %) in every layer": lambda n: bool(np.all(
            np.abs(lab(n, 1)[1].norm_ratio["pcalm"][:-1] - 1.0) <= 0.01)),
        "PC's cosine is lower in every layer": lambda n: claims.higher_in_every_layer(
            lab(n, 1)[1].cosine["pcalm"][:-1], lab(n, 1)[1].cosine["pc"][:-1]),
        "lowest at the readout, the output end": lambda n: claims.gradient_summary(
            lab(n, 1)[1].cosine["pc"], lab(n, 1)[1].norm_ratio["pc"]).lowest_cosine_layer
        == configs(n)[0].depth,
        "several times smaller than BP's in every layer": lambda n: float(
            np.max(lab(n, 1)[1].norm_ratio["pc"][:-1])) < 0.5,
    },
}
"""Preset -> the words of its text that state a fact -> the check of that fact on the data."""


def test_every_preset_has_its_claims_listed():
    assert set(PRESET_CLAIMS) == set(PRESETS)


@pytest.mark.parametrize("name", _cases())
def test_preset_text_holds_on_its_data(name):
    about = " ".join(PRESETS[name].about.split())
    for words, check in PRESET_CLAIMS[name].items():
        assert words in about, f"{name}: the text no longer says {words!r}: update its check"
        assert check(name), f"{name}: the data contradict {words!r}"


def test_the_linear_preset_no_longer_claims_the_minimum_near_the_input():
    """The measured minimum of PC's cosine is at the readout (the output end)."""
    summary = claims.gradient_summary(lab("Linear nets: exact BP", 1)[1].cosine["pc"],
                                      lab("Linear nets: exact BP", 1)[1].norm_ratio["pc"])
    assert summary.lowest_cosine_region == "output"
    assert "lowest near the input" not in PRESETS["Linear nets: exact BP"].about


# ------------------------------------------------------------------ credit page


@pytest.mark.parametrize("name", _cases())
def test_energy_caption_says_which_way_each_curve_goes(name):
    run = credit_run(name)
    fig = figures.energy_plot(run.field("energy"))
    text = _credit.credit_energy_text(run)
    for label in ("PC", "PC-ALM"):
        total = _named(fig, f"{label} total")
        direction = claims.trend(total).direction
        assert f"here it {direction}, {total[0]:.3g} → {total[-1]:.3g}" in text
    pc, alm = _named(fig, "PC total"), _named(fig, "PC-ALM total")
    # "PC's inference is gradient descent on it": PC's energy never rises
    assert np.all(np.diff(pc) <= 1e-6 * pc[0]) and claims.trend(pc).direction == "falls"
    # "[PC-ALM's curve] grows as the multipliers fill with credit"
    assert claims.trend(alm).direction == "rises"
    multiplier = run.field("multiplier")["pcalm"].mean(axis=1)
    assert claims.trend(multiplier[1:]).direction == "rises"  # λ = 0 at the first step
    assert "saddle-point search" in text and "inference minimises" not in text
    assert_readable_log_axes(fig, f"{name} energy")


@pytest.mark.parametrize("name", _cases())
def test_alignment_and_arrival_captions_match_their_figures(name):
    run = credit_run(name)
    align = figures.alignment_vs_step(run.field("alignment"))
    arrival = figures.arrival_plot(run.result.arrivals, alpha=run.alpha, eta=run.result.eta)
    energy_text, arrival_text = _credit.credit_energy_text(run), _credit.credit_arrival_text(run)
    for label in ("PC", "PC-ALM"):
        last = _named(align, f"{label} (mean over layers)")[-1]
        legend = _starting(arrival, f"{label}: ").name  # "PC: slope 2.30, 4/63 layers"
        reached, total = map(int, re.search(r"(\d+)/(\d+) layers", legend).groups())
        assert f"{label}'s ends at {last:.2f} with credit in {reached} of {total}" in energy_text
        assert f"{label}'s credit reached {reached} of {total} layers" in arrival_text
        slope = re.search(r"slope ([0-9.]+)", legend)
        if slope:
            assert f"slope {slope.group(1)}" in arrival_text
    # "a layer can look aligned with almost no credit" and "in deep nets it [heat] never
    # gets far": PC's credit reached at most a quarter of the layers, yet its mean cosine is
    # high
    pc = claims.front_summary(run.result.arrivals["pc"])
    assert pc.reached <= pc.total / 4
    assert _named(align, "PC (mean over layers)")[-1] > 0.5
    assert_readable_log_axes(arrival, f"{name} arrival")
    heat = figures.inference_heatmaps(run.field("credit"), log=True)
    assert_readable_log_axes(heat, f"{name} log heatmap")


# ------------------------------------------------------------------ auto η_h on every page


@pytest.mark.parametrize("name", _cases())
def test_auto_eta_is_the_same_on_the_lab_and_the_credit_page(name):
    """Both compute 1/λ_max(AᵀA) of the same network at its initial weights on the same
    probe batch, as their captions say; a fixed η_h is shown as set."""
    model, rule, train = configs(name)
    session = Session(model, rule, train)
    assert session.eta == pytest.approx(credit_run(name).result.eta, rel=1e-6)
    origin = _text.eta_origin(auto=rule.eta == "auto")
    assert credit_run(name).eta_origin == origin
    assert origin in _credit.credit_settings_text(credit_run(name))
    if rule.eta == "auto":
        assert "1/λ_max(AᵀA) of this network" in origin
    else:
        assert origin == "set in the sidebar" and session.eta == rule.eta
    session.close()


def test_theory_page_says_its_auto_eta_comes_from_its_own_chain_and_net():
    model, rule, _ = configs(DEFAULT)
    p = th.theory_point(model.depth, rule, "chain")
    note = th.eta_note(p, depth=model.depth, sigma="chain")
    sigma_max = float(theory.chain_singular_values(model.depth)[0])
    assert p.eta == pytest.approx(1.0 / sigma_max**2)
    assert f"1/σ_max² = {p.eta:.3g} of the identity residual chain of depth L = 16" in note
    assert "deep limit σ_max = 2" in th.eta_note(th.theory_point(model.depth, rule, "limit"),
                                                 depth=model.depth, sigma="limit")
    depth = th.DEFAULTS["theory_depth"]
    exact = theory.gather_exactness(depth, [theory.exactness_point(depth, 1, eta="auto",
                                                                   rho=1.0, alpha=1.0)])
    note = th.exactness_note(exact, rule)
    assert f"this linear net (L = {depth}, width 16, batch 16) = {exact.eta:.3g}" in note
    assert exact.eta != pytest.approx(p.eta, rel=1e-3)  # two nets, two values, both named


# ------------------------------------------------------------------ theory page


@pytest.mark.slow
def test_exactness_caption_holds_on_the_page_curve():
    """"PC-ALM ... exactly BP's, down to float precision. PC's penalty leaves a residual
    error that no number of steps removes." on the page's default curve."""
    depth = th.DEFAULTS["theory_depth"]
    points = [theory.exactness_point(depth, int(t), eta="auto", rho=1.0, alpha=1.0)
              for t in th.exactness_steps(depth)]
    exact = theory.gather_exactness(depth, points)
    fig = figures.exactness_plot(exact.steps, exact.errors)
    alm, pc = _named(fig, "PC-ALM"), _named(fig, "PC")
    assert alm[-1] < 1e-10
    assert pc[-1] > 0.1 and abs(pc[-1] - pc[-2]) <= 1e-3 * pc[-1]  # levelled off
    assert_readable_log_axes(fig, "exactness")


# ------------------------------------------------------------------ log axes on real data


def test_lab_curves_log_axis_reads_on_a_real_run():
    session, _ = lab(DEFAULT)
    assert_readable_log_axes(_figs.curves(session), "lab curves")

