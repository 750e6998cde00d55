r"""Streamlit side of the credit propagation page: one batch, one inference run per rule.

The probe at initialisation is cached by configuration (`st.cache_data`, keyed on the fields
that change the result), so scrubbing through inference steps never recomputes it; the probe
at the live run's current weights is kept per visitor, keyed on the run and its step count.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from ..analysis import diffusion_reach, distance_from_output, front_speed
from ..config import ModelConfig, RuleConfig, TrainConfig, with_changes
from ..figures import RULE_LABELS, credit_profile
from ..runs import ProbeResult, probe, probe_model
from . import _page as params

SESSION_KEY = "pcviz_session"
"""Where the live lab keeps its `pcviz.train.Session`."""

RULES = ("pc", "pcalm")
INIT, LIVE = "init", "live"
QUANTITIES = {"credit": "credit ‖λ + ρr‖", "error": "prediction error ‖r‖",
              "multiplier": "multiplier ‖λ‖", "alignment": "cosine to BP adjoint"}
DEFAULTS: dict[str, Any] = {"source": INIT, "show": "credit", "log": False, "t": 0,
                            "animate": False}
"""Page settings in the URL (`t = 0` means the middle of the run)."""

MAX_FRAMES = 100
_LIVE_MEMO = "pcviz_credit_live"

PROBE_RUNS = {"count": 0}
"""How many probes were actually computed (a cache miss): tests check scrubbing adds none."""


class CreditRun(NamedTuple):
    """A probe and what it was run on."""

    result: ProbeResult
    depth: int
    rho: float
    alpha: float
    where: str

    @property
    def rules(self) -> list[str]:
        """The rules probed, in display order."""
        return [r for r in RULES if r in self.result.telemetry]

    @property
    def adjoint(self) -> np.ndarray:
        """`(L-1,)` BP adjoint norms (identical for every rule at the same weights)."""
        return next(iter(self.result.telemetry.values())).bp_adjoint

    def field(self, name: str) -> dict[str, np.ndarray]:
        """Rule -> telemetry field `name`, e.g. `"credit"` `(T, L-1)`."""
        return {r: getattr(self.result.telemetry[r], name) for r in self.rules}


def live_session():
    """The live lab's session, or None when there is none (or it holds no inference rule)."""
    session = st.session_state.get(SESSION_KEY)
    records = getattr(session, "records", None)
    if not records or not any(r in records for r in RULES):
        return None
    return session


# ---------------------------------------------------------------------------------- probes


@st.cache_data(show_spinner="Running inference on one batch…", max_entries=16)
def _probe_at_init(model: dict, rule: dict, data: dict) -> ProbeResult:
    PROBE_RUNS["count"] += 1
    train = TrainConfig(rules=RULES, **data)
    return probe(ModelConfig(**model), RuleConfig(**rule), train)


def probe_at_init(model: ModelConfig, rule: RuleConfig, train: TrainConfig) -> CreditRun:
    """PC and PC-ALM on the fixed batch of `train.dataset` from the initial weights (cached)."""
    rule_key = {k: getattr(rule, k) for k in ("steps", "eta", "rho", "alpha")}
    data_key = {"dataset": train.dataset, "batch_size": train.batch_size, "seed": train.seed}
    result = _probe_at_init(dataclasses.asdict(model), rule_key, data_key)
    where = f"at initialisation (seed {train.seed}), on one batch of {train.batch_size}"
    return CreditRun(result, model.depth, rule.rho, rule.alpha, where)


def probe_live(session) -> CreditRun:
    """PC and PC-ALM, each from its own current weights in the live run, on the run's fixed
    probe batch and activity step (kept until the run takes another step)."""
    rules = tuple(r for r in RULES if r in session.records)
    key = (id(session), session.step_count, rules)
    memo = st.session_state.get(_LIVE_MEMO)
    if memo is not None and memo[0] == key:
        return memo[1]
    rule = with_changes(session.rule_config, eta=session.eta)
    parts = [probe_model(session.model(r), session.probe_x, session.probe_labels, rule, (r,))
             for r in rules]
    result = ProbeResult(
        parts[0].eta, parts[0].steps,
        *({r: getattr(p, f)[r] for r, p in zip(rules, parts)}
          for f in ("telemetry", "arrivals", "fits")),
    )
    run = CreditRun(result, session.model_config.depth, rule.rho, rule.alpha,
                    f"at the current weights of the live run (after {session.step_count} "
                    "training steps), on its fixed probe batch")
    st.session_state[_LIVE_MEMO] = (key, run)
    return run


def compute(model: ModelConfig, rule: RuleConfig, train: TrainConfig, source: str):
    """The probe for the chosen source, or None after showing `st.error` with what to change."""
    session = live_session() if source == LIVE else None
    try:
        if session is not None:
            return probe_live(session)
        return probe_at_init(model, rule, train)
    except ValueError as err:  # includes BudgetError and DataError messages with the fix
        st.error(f"Could not run inference: {err}")
    except Exception as err:  # noqa: BLE001 - the visitor sees a message, never a traceback
        st.error(f"Inference failed ({type(err).__name__}: {err}). Try a smaller depth, width "
                 "or T, or a smaller activity step η_h in the sidebar.")
    return None


# -------------------------------------------------------------------------------- controls


def controls() -> dict[str, Any]:
    """The page's own settings (weights source, quantity, log scale, animation)."""
    has_live = live_session() is not None
    params.seed("source", INIT, params.one_of((INIT, LIVE)))
    params.seed("show", "credit", params.one_of(tuple(QUANTITIES)))
    params.seed("log", False, params.yes_no)
    params.seed("animate", False, params.yes_no)
    left, middle, right = st.columns([2, 2, 1.3])
    source_names = {INIT: "at initialisation", LIVE: "at the live run's current weights"}
    left.radio("Weights", (INIT, LIVE), key="source", format_func=source_names.get,
               persist_state="session", disabled=not has_live,
               help="Start a run on the Live lab page to probe its current weights."
               if not has_live else "The live run's weights, after its latest step.")
    middle.selectbox("Heatmap shows", tuple(QUANTITIES), key="show",
                     format_func=QUANTITIES.get, persist_state="session")
    right.toggle("Log colour scale", key="log", persist_state="session")
    right.toggle("Animate profile", key="animate", persist_state="session",
                 help="Play the credit profile step by step in the browser.")
    values = {k: st.session_state[k] for k in ("source", "show", "log", "animate")}
    if values["source"] == LIVE and not has_live:
        values["source"] = INIT
    return values


def step_slider(steps: int) -> int:
    """The scrub slider over inference steps `1..T` (its value is kept in the URL as `t`)."""
    params.seed("t", 0, params.int_in(0, 100_000))
    if not 1 <= st.session_state["t"] <= steps:
        st.session_state["t"] = max(1, steps // 2) if st.session_state["t"] == 0 else steps
    return st.slider("Inference step t", 1, max(steps, 2), key="t", persist_state="session",
                     help="Scrub through the inference run; nothing is recomputed.")


def keep_in_url() -> None:
    """Mirror this page's settings in the address."""
    params.mirror(DEFAULTS)


# --------------------------------------------------------------------------------- metrics


class Front(NamedTuple):
    """How far and how fast a rule's credit travelled."""

    reached: int
    total: int
    slope: float
    speed: float


def front(run: CreditRun, rule: str, step: int) -> Front:
    """Layers reached by `step`, the log-log front slope, and the fitted speed (layers/step)
    of the line distance = speed x arrival step through the layers reached."""
    arrival = np.asarray(run.result.arrivals[rule])
    hit = (arrival >= 1) & (arrival <= step)
    everywhere = arrival >= 1
    speed = float("nan")
    if everywhere.sum() >= 3 and np.ptp(arrival[everywhere]) > 0:
        d = distance_from_output(arrival.size + 1)[everywhere]
        speed = float(np.polyfit(arrival[everywhere], d, 1)[0])
    return Front(int(hit.sum()), int(arrival.size), run.result.fits[rule].slope, speed)


def _fmt(value: float, spec: str = ".2f") -> str:
    return format(value, spec) if np.isfinite(value) else "n/a"


def metrics_row(run: CreditRun, step: int) -> None:
    """One row per rule: layers reached by step t, front slope, speed against theory."""
    eta = run.result.eta
    for rule in run.rules:
        f, name = front(run, rule, step), RULE_LABELS[rule]
        reached, slope, speed = st.columns(3)
        reached.metric(f"{name} · layers reached by t = {step}", f"{f.reached} / {f.total}",
                       help="Layers whose credit has reached half of BP's adjoint ‖δᵢ‖.")
        slope.metric(f"{name} · front slope", _fmt(f.slope),
                     help="Log-log slope of arrival step against distance from the output: "
                     "1 = wave (ballistic), 2 = heat (diffusive); n/a below 3 layers reached.")
        if rule == "pcalm" and run.alpha > 0:
            theory = front_speed(run.alpha, eta)
            ratio = (f"{f.speed / theory:.0%} of theory √(αη_h) = {theory:.2f}"
                     if np.isfinite(f.speed) else f"theory √(αη_h) = {theory:.2f}")
            speed.metric(f"{name} · front speed", f"{_fmt(f.speed)} layers/step",
                         delta=ratio, delta_color="off", delta_arrow="off",
                         help="Slope of distance from the output against arrival step.")
        else:
            reach = diffusion_reach(eta, run.rho, step)
            speed.metric(f"{name} · heat reach √(ρη_h t)", f"{reach:.1f} layers",
                         help="Diffusion spreads credit over about √(ρη_h t) layers by step t.")


def warn_if_diverged(run: CreditRun) -> None:
    """A warning naming every rule whose inference blew up, and what to change."""
    dead = [RULE_LABELS[r] for r in run.rules
            if not np.isfinite(run.result.telemetry[r].credit).any(axis=1)[-1]]
    if dead:
        st.warning(f"{' and '.join(dead)} diverged during inference (η_h = "
                   f"{run.result.eta:.3g}, α = {run.alpha:g}, ρ = {run.rho:g}). Lower η_h or α "
                   "in the sidebar; the Linear theory page shows the stable region.", icon="⚠️")


# ------------------------------------------------------------------------------- figures


def with_step_line(fig: go.Figure, step: int) -> go.Figure:
    """`fig` with a dashed vertical line at inference step `step`."""
    fig.add_vline(x=step, line=dict(dash="dash", color="#888888", width=1.5))
    return fig


def frame_steps(steps: int) -> np.ndarray:
    """At most `MAX_FRAMES` inference steps spread over `1..T` for the animation."""
    return np.unique(np.linspace(1, steps, min(steps, MAX_FRAMES)).round().astype(int))


def _controls(names: list[str]) -> dict:
    slider = dict(active=0, x=0.08, len=0.9, y=-0.12, currentvalue=dict(prefix="step t = "),
                  steps=[dict(label=n, method="animate", args=[[n], dict(
                      mode="immediate", frame=dict(duration=0, redraw=True))]) for n in names])
    play = dict(label="▶ Play", method="animate", args=[None, dict(
        frame=dict(duration=120, redraw=True), fromcurrent=True, transition=dict(duration=0))])
    pause = dict(label="❚❚ Pause", method="animate", args=[[None], dict(
        mode="immediate", frame=dict(duration=0, redraw=True))])
    menu = dict(type="buttons", direction="left", x=0.0, y=-0.12, xanchor="right",
                yanchor="top", showactive=False, buttons=[play, pause])
    return dict(updatemenus=[menu], sliders=[slider])


def animated_profile(run: CreditRun) -> go.Figure:
    """The credit profile with Plotly frames over inference steps (played in the browser)."""
    credit = run.field("credit")
    steps = frame_steps(run.result.steps)
    base = credit_profile({r: a[steps[0] - 1] for r, a in credit.items()}, run.adjoint,
                          step=int(steps[0]))
    names = {RULE_LABELS[r]: r for r in credit}
    index = [i for i, trace in enumerate(base.data) if trace.name in names]
    rules = [names[base.data[i].name] for i in index]
    half = 0.5 * np.asarray(run.adjoint)
    title = base.layout.title.to_plotly_json()  # the whole title: a frame replaces it
    text = title.get("text", "")
    frames = [go.Frame(
        name=str(s), traces=index,
        layout=dict(title={**title, "text": text.replace(f"step {steps[0]}", f"step {s}")}),
        data=[dict(type="scatter", y=credit[r][s - 1], marker=dict(
            symbol=np.where(credit[r][s - 1] >= half, "circle", "circle-open"))) for r in rules],
    ) for s in steps]
    top = max(float(np.nanmax(a)) if np.isfinite(a).any() else 1.0 for a in credit.values())
    fig = go.Figure(base)
    fig.frames = frames
    fig.update_yaxes(range=[0, 1.05 * max(top, float(np.nanmax(run.adjoint)))],
                     autorange=False)
    fig.update_layout(margin=dict(b=150), **_controls([str(s) for s in steps]))
    return fig


def data_files(run: CreditRun) -> dict[str, Any]:
    """The probe's telemetry as CSV and JSON, each built only when its button is pressed
    (a depth-256 run is tens of megabytes)."""
    from ..export import telemetry_csv, telemetry_json

    telemetry = dict(run.result.telemetry)
    return {"credit_telemetry.csv": lambda: telemetry_csv(telemetry),
            "credit_telemetry.json": lambda: telemetry_json(telemetry)}

