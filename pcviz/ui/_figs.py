"""From a live `Session` (or a live run's `RunView`) to the arrays `pcviz.figures` and
`pcviz.export` take."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

import numpy as np
import plotly.graph_objects as go

from .. import export, figures
from ..analysis import arrival_steps
from ..config import INFERENCE_RULES
from ..config_fields import rule_label
from ..service import RunView
from ..train import GradientComparison, History, Session

Live: TypeAlias = Session | RunView
"""What the figures of a live run read: a `Session`, or a `RunView` shaped like one."""

QUANTITY_NAMES = {
    "credit": "credit ‖λ + ρr‖",
    "error": "error ‖r‖",
    "multiplier": "multiplier ‖λ‖",
}
"""Telemetry fields the lab's heatmaps can show, with their labels."""

CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}
"""Plotly's `config` for every chart of the lab."""


def label(rule: str) -> str:
    """Display name of a rule (`pcviz.config_fields.rule_label`)."""
    return rule_label(rule)


def _curve(history: History) -> tuple[np.ndarray, np.ndarray]:
    steps, values = list(history.steps), list(history.values)
    n = min(len(steps), len(values))  # a download may read while the lab appends
    return np.asarray(steps[:n], dtype=np.int64), np.asarray(values[:n], dtype=float)


def telemetry(session: Live) -> dict[str, Any]:
    """Inference rule -> the telemetry of the latest batch (`None` before the first step)."""
    return {rule: rec.telemetry for rule, rec in session.records.items()
            if rule in INFERENCE_RULES and rec.telemetry is not None}


def histories(session: Live) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Rule -> series (`loss`, `accuracy`, `test_accuracy`) -> `(steps, values)`."""
    return {rule: {"loss": _curve(rec.loss), "accuracy": _curve(rec.accuracy),
                   "test_accuracy": _curve(rec.test_accuracy)}
            for rule, rec in session.records.items()}


def figure_key(view) -> tuple:
    """What a figure of a live run's `view` shows, as a key to cache it by: the run, its
    version (which moves with every change the run reports) and its step."""
    return view.run_id, view.version, view.step_count


def placeholder(message: str) -> go.Figure:
    """An empty heatmap frame that says what to do (drawn before the first step)."""
    fig = go.Figure()
    fig.add_annotation(text=message.replace("**", ""), x=0.5, y=0.5, xref="paper",
                       yref="paper", showarrow=False, font=dict(size=15, color="#555555"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(template="plotly_white", height=240, margin=dict(l=20, r=20, t=20, b=20))
    return fig


def heatmaps(session: Live, options: Mapping[str, Any], *, live: bool = False) -> go.Figure:
    """PC beside PC-ALM: the chosen quantity (`options["lab_quantity"]`) of the latest batch,
    optionally on a log scale (`lab_log`) with the arrival front (`lab_front`). `live` drops
    the legend (the page explains the line), which halves the browser's redraw time."""
    quantity = options.get("lab_quantity") or "credit"
    values, arrivals = {}, {}
    for rule, tel in telemetry(session).items():
        data = np.asarray(getattr(tel, quantity), dtype=float)
        if session.record(rule).diverged_at is not None:
            values[rule] = np.full_like(data, np.nan)
            continue
        values[rule] = data
        arrivals[rule] = arrival_steps(tel.credit, tel.bp_adjoint)
    fig = figures.inference_heatmaps(
        values, quantity=quantity, log=bool(options.get("lab_log")),
        arrivals=arrivals if options.get("lab_front", True) else None,
    )
    return _live(fig) if live else fig


def _live(fig: go.Figure) -> go.Figure:
    """A live chart's heatmaps: no legend (the page explains the line), which halves the
    browser's redraw time."""
    return fig.update_layout(showlegend=False, margin=dict(b=50))


def heatmap_frame(session: Live, options: Mapping[str, Any], message: str) -> go.Figure:
    """The live heatmaps before the run's first step (`figures.heatmap_frame`): the panels
    of the run's inference rules, T inference steps by L - 1 hidden layers, and `message`;
    the first heatmaps then fill them in place. A placeholder when the run is not built."""
    rows = session.model_config.depth - 1 if session.model_config is not None else 0
    shapes = {rule: (session.steps, rows) for rule in session.rules if rule in INFERENCE_RULES}
    if not rows or not session.steps or not shapes:
        return placeholder(message)
    return _live(figures.heatmap_frame(
        shapes, quantity=options.get("lab_quantity") or "credit",
        log=bool(options.get("lab_log")), fronts=bool(options.get("lab_front", True)),
        message=message.replace("**", "")))


def curves(session: Live) -> go.Figure:
    """Loss and accuracy of every rule against training step."""
    series = histories(session)
    tested = {r: s["test_accuracy"] for r, s in series.items() if s["test_accuracy"][0].size}
    return figures.training_curves(
        {r: s["loss"] for r, s in series.items()},
        {r: s["accuracy"] for r, s in series.items()},
        test_accuracy=tested or None,
        diverged={r: rec.diverged_at for r, rec in session.records.items()},
    )


def alignment(comparison: GradientComparison | Mapping[str, np.ndarray]) -> go.Figure:
    """Per-layer cosine of each rule's weight gradient with BP's and, from a
    `GradientComparison`, beside it the ratio of their norms."""
    if isinstance(comparison, GradientComparison):
        return figures.layer_alignment(comparison.cosine, norm_ratios=comparison.norm_ratio)
    return figures.layer_alignment(comparison)


def seconds_per_step(session: Live) -> dict[str, float]:
    """Rule -> mean wall seconds per training step after the first (compiling) one."""
    out = {}
    for rule, rec in session.records.items():
        rate = rec.steps_per_second
        out[rule] = 1.0 / rate if np.isfinite(rate) and rate > 0 else rec.step_seconds
    return out


def times(session: Live) -> go.Figure:
    """Wall time per training step per rule, brackets for rules stepped together."""
    shared = [list(rules) for rules in session.rule_groups if len(rules) > 1]
    return figures.step_times(seconds_per_step(session), shared=shared)


def provenance(session) -> dict:
    """The run a live view's files come from: `run_id`, `config`, `step` (for `export`)."""
    from ..config import encode

    config = encode(session.model_config, session.rule_config, session.train_config)
    return {"run_id": session.run_id, "config": config, "step": session.step_count}


def downloads(session) -> dict[str, str]:
    """The lab's data files: telemetry (CSV, JSON) and training histories (CSV), each
    carrying the run's id, configuration and step."""
    if session is None or session.model_config is None:
        return {}
    tel, run = telemetry(session), provenance(session)
    return {
        "lab-telemetry.csv": export.telemetry_csv(tel, **run),
        "lab-telemetry.json": export.telemetry_json(tel, **run),
        "lab-history.csv": export.history_csv(histories(session), **run),
    }
