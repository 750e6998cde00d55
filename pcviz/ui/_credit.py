r"""Streamlit side of the credit propagation page: one batch, one inference run per rule,
computed on the run service.

The probe at initialisation is a task (`pcviz.runs.probe`) shared by every visitor with the
same configuration (the fields that change it; `_pending.shared_task`). The probe at the live
run's current weights is computed by the run's actor (`_live_probe`), kept per visitor and
keyed on the run and its step count. The page never waits for either: a fragment polls the
job and reruns the page once it has finished; scrubbing never recomputes anything.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from .. import service
from ..analysis import diverged_rules, merge_probes, profile_frames
from ..claims import alignment_trends, energy_trends, front_readings, front_summary
from ..config import ModelConfig, RuleConfig, TrainConfig, with_changes
from ..figures import RULE_LABELS
from ..figures._credit import animated_credit_profile
from ..runs import ProbeResult, probe
from . import _page as params
from ._lab_state import live_client
from ._pending import Task, forget, service_ready, shared_task, wait_for
from ._text import eta_origin

RULES = ("pc", "pcalm")
INIT, LIVE = "init", "live"
QUANTITIES = {"credit": "credit ‖λ + ρr‖", "error": "prediction error ‖r‖",
              "multiplier": "multiplier ‖λ‖", "alignment": "cosine to BP adjoint"}
DEFAULTS: dict[str, Any] = {"source": INIT, "show": "credit", "log": False, "t": 0,
                            "animate": False}
"""Page settings in the URL (`t = 0` means the middle of the run)."""

MAX_FRAMES = 100
LIVE_VIEW_SECONDS = 5.0
"""Longest wait for the live run's current view."""
_LIVE_MEMO = "pcviz_credit_live"

PROBE_RUNS = {"count": 0}
"""How many probes at initialisation were submitted: tests check scrubbing adds none."""


class CreditRun(NamedTuple):
    """A probe and what it was run on (`eta_origin`: what η_h was computed from)."""

    result: ProbeResult
    depth: int
    rho: float
    alpha: float
    where: str
    eta_origin: str = ""

    @property
    def rules(self) -> list[str]:
        """The rules probed, in display order."""
        return [r for r in RULES if r in self.result.telemetry]

    @property
    def adjoint(self) -> np.ndarray:
        """`(L-1,)` BP adjoint norms (identical for every rule at the same weights)."""
        return np.asarray(next(iter(self.result.telemetry.values())).bp_adjoint)

    def field(self, name: str) -> dict[str, np.ndarray]:
        """Rule -> telemetry field `name`, e.g. `"credit"` `(T, L-1)`."""
        return {r: getattr(self.result.telemetry[r], name) for r in self.rules}


class LiveSource(NamedTuple):
    """The visitor's live run: its client, its current `RunView` and the inference rules it
    trains."""

    client: Any
    view: Any
    rules: tuple[str, ...]


def credit_live_source() -> LiveSource | None:
    """The live lab's run for this visitor (`_lab_state.live_client`) and its current view,
    or None when there is none, it holds no inference rule, or it does not answer."""
    client = live_client()
    if client is None:
        return None
    try:
        view = client.view(timeout=LIVE_VIEW_SECONDS)
    except Exception:  # ended or busy: the page offers the initial weights
        return None
    if view is None or view.model_config is None or view.error is not None:
        return None
    rules = tuple(r for r in RULES if r in view.rules)
    return LiveSource(client, view, rules) if rules else None


# ---------------------------------------------------------------------------------- probes


def _live_probe(client, rules: tuple[str, ...]) -> service.Job:
    """Ask the live run for `probe_model` of `rules` at its current weights, on its fixed
    probe batch and activity step, without waiting: its actor computes it, the job's result
    is one `ProbeResult` per rule. The only place that knows how a live run is probed."""
    return service.Job(client.handle.probe.remote(tuple(rules)), label="probe of the live run")


def _init_key(model: ModelConfig, rule: RuleConfig, train: TrainConfig) -> tuple:
    return ("credit-probe", model, rule.steps, rule.eta, rule.rho, rule.alpha, train.dataset,
            train.batch_size, train.seed)


def _start_init(model: ModelConfig, rule: RuleConfig, train: TrainConfig) -> Task:
    PROBE_RUNS["count"] += 1
    rule = RuleConfig(steps=rule.steps, eta=rule.eta, rho=rule.rho, alpha=rule.alpha)
    train = TrainConfig(rules=RULES, dataset=train.dataset, batch_size=train.batch_size,
                        seed=train.seed)
    where = f"at initialisation (seed {train.seed}), on one batch of {train.batch_size}"
    job = service.submit(probe, model, rule, train, label=f"credit probe L={model.depth}")
    origin = eta_origin(auto=rule.eta_is_auto)
    return Task([job], label="probe", meta=(model.depth, rule.rho, rule.alpha, where, origin))


def _live_task(live: LiveSource) -> Task:
    """The visitor's probe of the live run: the one for this step, or the one still running
    for this run (a playing run is probed once at a time), else a new one."""
    view = live.view
    key = (live.client.run_id, view.step_count, live.rules)
    memo = st.session_state.get(_LIVE_MEMO)
    if memo is not None:
        old = memo.meta[0]
        if old == key or (old[0] == key[0] and old[2] == key[2] and not memo.poll()):
            return memo
    rule = with_changes(view.rule_config, eta=view.eta)
    where = (f"at the current weights of the live run (after {view.step_count} training "
             "steps), on its fixed probe batch")
    origin = eta_origin(auto=view.rule_config.eta_is_auto, live=True)
    task = Task([_live_probe(live.client, live.rules)], label="live probe",
                meta=(key, view.model_config.depth, rule.rho, rule.alpha, where, origin))
    st.session_state[_LIVE_MEMO] = task
    return task


def _failed(err: BaseException, *, retry: tuple | None) -> None:
    if isinstance(err, ValueError):  # BudgetError and DataError messages say what to change
        st.error(f"Could not run inference: {err}", icon=":material/error:")
        return
    if "Actor" in type(err).__name__ or isinstance(err, service.RunGone):
        st.error("The live run has ended. Open the Live lab to reopen it, or choose the "
                 "initial weights above.", icon=":material/error:")
        return
    st.error(f"Inference failed on the run service ({type(err).__name__}: {str(err)[:300]}). "
             "Try a smaller depth, width or T, or a smaller activity step η_h in the sidebar.",
             icon=":material/error:")
    if retry is not None:
        st.button("Try again", key="credit-retry", on_click=forget, args=(retry,))


def credit_probe(model: ModelConfig, rule: RuleConfig, train: TrainConfig, source: str,
            live: LiveSource | None = None) -> CreditRun | None:
    """The probe for the chosen source from the run service. None while it computes (a
    status that polls, then reruns the page) or after an `st.error` saying what to change."""
    if not service_ready():
        return None
    if source == LIVE and live is not None:
        task, retry = _live_task(live), None
    else:
        retry = _init_key(model, rule, train)
        task = shared_task(retry, lambda: _start_init(model, rule, train), size=16)
    if task.poll():
        if task.error is None:
            result = task.collected()[0]  # a live run answers one probe per rule
            result = merge_probes(result) if isinstance(result, list) else result
            return CreditRun(result, *task.meta[-5:])
        if retry is None:
            st.session_state.pop(_LIVE_MEMO, None)  # the next visit asks the run again
        _failed(task.error, retry=retry)
        return None

    def check() -> tuple[bool, str, float | None]:
        return task.poll(), ("Computing on the run service: one inference run per rule on "
                             "one batch…"), None

    wait_for(check, key="credit-wait")
    return None


# -------------------------------------------------------------------------------- controls


def credit_controls(*, has_live: bool) -> dict[str, Any]:
    """The page's own settings (weights source, quantity, log scale, animation); the live
    source only when `has_live`."""
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
                     format_func=lambda q: QUANTITIES.get(q, q), persist_state="session")
    right.toggle("Log colour scale", key="log", persist_state="session")
    right.toggle("Animate profile", key="animate", persist_state="session",
                 help="Play the credit profile step by step in the browser.")
    values = {k: st.session_state[k] for k in ("source", "show", "log", "animate")}
    if values["source"] == LIVE and not has_live:
        values["source"] = INIT
    return values


def credit_step_slider(steps: int) -> int:
    """The scrub slider over inference steps `1..T` (its value is kept in the URL as `t`)."""
    params.seed("t", 0, params.int_in(0, 100_000))
    if not 1 <= st.session_state["t"] <= steps:
        st.session_state["t"] = max(1, steps // 2) if st.session_state["t"] == 0 else steps
    return st.slider("Inference step t", 1, max(steps, 2), key="t", persist_state="session",
                     help="Scrub through the inference run; nothing is recomputed.")


def credit_keep_in_url() -> None:
    """Mirror this page's settings in the address."""
    params.mirror(DEFAULTS)


# --------------------------------------------------------------------------------- metrics


def _fmt(value: float, spec: str = ".2f") -> str:
    return format(value, spec) if np.isfinite(value) else "n/a"


def credit_metrics(run: CreditRun, step: int) -> None:
    """One row per rule: layers reached by step t, front slope, speed against theory
    (`pcviz.claims.front_readings`, as `python -m pcviz credit` prints them)."""
    readings = front_readings(run.result.arrivals, step=step, eta=run.result.eta, rho=run.rho,
                              alpha=run.alpha)
    for rule in run.rules:
        f, name = readings[rule], RULE_LABELS[rule]
        reached, slope, speed = st.columns(3)
        reached.metric(f"{name} · layers reached by t = {step}", f"{f.reached} / {f.total}",
                       help="Layers whose credit has reached half of BP's adjoint ‖δᵢ‖.")
        slope.metric(f"{name} · front slope", _fmt(f.slope),
                     help="Log-log slope of arrival step against distance from the output: "
                     "1 = wave (ballistic), 2 = heat (diffusive); n/a below 3 layers reached.")
        if np.isfinite(f.theory_speed):
            ratio = (f"{f.speed_ratio:.0%} of theory √(αη_h) = {f.theory_speed:.2f}"
                     if np.isfinite(f.speed_ratio) else f"theory √(αη_h) = {f.theory_speed:.2f}")
            speed.metric(f"{name} · front speed", f"{_fmt(f.speed)} layers/step",
                         delta=ratio, delta_color="off", delta_arrow="off",
                         help="Slope of distance from the output against arrival step.")
        else:
            speed.metric(f"{name} · heat reach √(ρη_h t)", f"{f.heat_reach:.1f} layers",
                         help="Diffusion spreads credit over about √(ρη_h t) layers by step t.")


def warn_if_diverged(run: CreditRun) -> None:
    """A warning naming every rule whose inference blew up, and what to change."""
    dead = [RULE_LABELS[r] for r in diverged_rules(run.field("credit"))]
    if dead:
        st.warning(f"{' and '.join(dead)} diverged during inference (η_h = "
                   f"{run.result.eta:.3g}, α = {run.alpha:g}, ρ = {run.rho:g}). Lower η_h or α "
                   "in the sidebar; the Linear theory page shows the stable region.", icon="⚠️")


# -------------------------------------------------------------------------------- captions


def credit_settings_text(run: CreditRun) -> str:
    """The line under the controls: the probe's depth, T, step sizes (and what η_h was
    computed from) and where its weights come from."""
    origin = f" ({run.eta_origin})" if run.eta_origin else ""
    return (f"Depth L = {run.depth}, T = {run.result.steps} inference steps, "
            f"η_h = {run.result.eta:.3g}{origin}, ρ = {run.rho:g}, α = {run.alpha:g}; "
            f"{run.where}.")


def credit_energy_text(run: CreditRun) -> str:
    """The explanation beside the energy and alignment figures, with what they show for
    this probe (`pcviz.claims.energy_trends`, `alignment_trends`, `front_summary`)."""
    energy = energy_trends(run.field("energy"))
    cosine = alignment_trends(run.field("alignment"))
    fronts = {r: front_summary(run.result.arrivals[r]) for r in run.rules}
    names = {r: RULE_LABELS[r] for r in run.rules}
    text = ("**Energy** is the output loss plus every layer's ‖eᵢ‖²/2ρ, eᵢ = λᵢ + ρrᵢ. For "
            "PC (λ = 0) it is PC's energy F, and PC's inference is gradient descent on it")
    if "pc" in energy:
        text += f": here it {energy['pc'].direction}, {_arrow(energy['pc'])}"
    text += (". PC-ALM's inference is not a descent but a **saddle-point search** of the "
             "augmented Lagrangian: it descends in the states h and *ascends* in the "
             "multipliers λ (min over h, max over λ), so nothing makes its curve fall. The "
             "curve is $\\mathcal L_\\rho + \\sum_i \\lVert\\lambda_i\\rVert^2/2\\rho$, "
             "which grows as the multipliers fill with credit")
    if "pcalm" in energy:
        text += f": here it {energy['pcalm'].direction}, {_arrow(energy['pcalm'])}"
    text += (". At the saddle point every rᵢ = 0 and λᵢ = −δᵢ: the curve would settle at "
             "ℓ + Σ‖δᵢ‖²/2ρ, BP's credit in every layer. **Alignment** is the cosine between "
             "each layer's credit and BP's exact adjoint −δᵢ: 1 means the credit points where "
             "BP's does. Like every cosine it ignores size, so a layer can look aligned with "
             "almost no credit: compare the profile above.")
    reached = [f"{names[r]}'s ends at {cosine[r].last:.2f} with credit in "
               f"{fronts[r].reached} of {fronts[r].total} layers"
               for r in run.rules if r in cosine]
    return text + (" Here the mean over layers of " + "; ".join(reached) + "."
                   if reached else "")


def _arrow(t) -> str:
    return f"{t.first:.3g} → {t.last:.3g}"


def credit_arrival_text(run: CreditRun) -> str:
    """What the arrival figure shows for this probe, rule by rule
    (`pcviz.claims.front_summary`)."""
    parts = []
    for rule in run.rules:
        f = front_summary(run.result.arrivals[rule])
        shape = (f"slope {f.slope:.2f}, a {f.kind}" if f.kind != "too few layers"
                 else "too few layers for a slope")
        parts.append(f"{RULE_LABELS[rule]}'s credit reached {f.reached} of {f.total} layers "
                     f"({shape})")
    return ("Here " + "; ".join(parts) + ".") if parts else ""


# ------------------------------------------------------------------------------- figures


def credit_animation(run: CreditRun) -> go.Figure:
    """The credit profile played over at most `MAX_FRAMES` inference steps in the browser."""
    frames = profile_frames(run.field("credit"), run.adjoint, max_frames=MAX_FRAMES)
    return animated_credit_profile(frames, run.adjoint)


def credit_data_files(run: CreditRun) -> dict[str, Any]:
    """The probe's telemetry as CSV and JSON, each built only when its button is pressed
    (a depth-256 run is tens of megabytes)."""
    from ..export import telemetry_csv, telemetry_json

    telemetry = dict(run.result.telemetry)
    return {"credit_telemetry.csv": lambda: telemetry_csv(telemetry),
            "credit_telemetry.json": lambda: telemetry_json(telemetry)}

