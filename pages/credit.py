"""Credit propagation: one batch, one inference run per rule, scrubbed step by step."""

import streamlit as st

from pcviz import figures, ui
from pcviz.figures._credit import with_step_line

st.title("Credit propagation")
st.markdown(
    "Predictive coding learns from **local** errors: before a weight changes, the output's error "
    "has to travel down the network, one layer at a time, during *inference*. How fast it "
    "travels decides whether deep layers learn at all. **PC** spreads credit like heat "
    "(*diffusive*: it reaches about √t layers after t steps and fades with distance). "
    "**PC-ALM** adds a multiplier per layer that keeps a memory of past errors, so credit moves "
    "like a wave (*ballistic*: a fixed number of layers per step, √(αη_h)). Below is one batch "
    "and one inference run of each, from the same weights; scrub through the steps."
)

model, rule, train = ui.current_config()
live = ui.credit_live_source()
options = ui.credit_controls(has_live=live is not None)
run = ui.credit_probe(model, rule, train, options["source"], live)
if run is None:
    st.stop()
ui.warn_if_diverged(run)
st.caption(ui.credit_settings_text(run))


@st.fragment
def scrubbed(run: ui.CreditRun) -> None:
    step = ui.credit_step_slider(run.result.steps)
    ui.credit_keep_in_url()
    ui.credit_metrics(run, step)
    heat = figures.inference_heatmaps(run.field(options["show"]), quantity=options["show"],
                                      log=options["log"], arrivals=run.result.arrivals,
                                      step=step)
    st.plotly_chart(heat, key="credit-heatmaps")
    ui.explain(
        "Each panel is one inference run: time (inference step) runs to the right, layers go "
        "up from the input (bottom) to the output (top). Brightness is the size of a layer's "
        "credit, the error signal its weights will learn from. The line with dots is the "
        "**arrival front**: the step at which each layer first holds half of the credit BP "
        "would give it. A straight diagonal is a wave; a curve that flattens is diffusion. "
        "The dashed vertical line is the step you chose.",
        r"e_i = \lambda_i + \rho\, r_i,\qquad r_i = h_i - f_i(h_{i-1})",
        r"t_i = \min\{t : \|e_i(t)\| \ge \tfrac12 \|\delta_i\|\}",
    )
    if options["animate"]:
        profile = ui.credit_animation(run)
        st.plotly_chart(profile, key="credit-profile-animated")
    else:
        profile = figures.credit_profile(
            {r: a[step - 1] for r, a in run.field("credit").items()}, run.adjoint, step=step)
        st.plotly_chart(profile, key="credit-profile")
    left, right = st.columns(2)
    with left:
        energy = with_step_line(figures.energy_plot(run.field("energy")), step)
        st.plotly_chart(energy, key="credit-energy")
    with right:
        align = with_step_line(figures.alignment_vs_step(run.field("alignment")), step)
        st.plotly_chart(align, key="credit-alignment")
    ui.explain(
        ui.credit_energy_text(run),
        r"\min_h\,\max_\lambda\ \mathcal L_\rho(h, \lambda),\qquad"
        r"\mathcal L_\rho = \ell(\hat y, y) + \sum_i \lambda_i^\top r_i"
        r" + \frac{\rho}{2}\sum_i \|r_i\|^2",
        r"\text{plotted:}\ \ \ell + \sum_i \frac{\|\lambda_i + \rho\, r_i\|^2}{2\rho}"
        r" = \mathcal L_\rho + \sum_i \frac{\|\lambda_i\|^2}{2\rho}",
    )
    st.caption(f"Figures at step {step}, as standalone HTML:")
    ui.show_downloads(name="credit_figures", files=ui.figure_files(
        "credit", heatmaps=heat, profile=profile, energy=energy, alignment=align))


scrubbed(run)

st.subheader("Arrival time against distance from the output")
arrival = figures.arrival_plot(run.result.arrivals, alpha=run.alpha, eta=run.result.eta)
st.plotly_chart(arrival, key="credit-arrival")
ui.explain(
    "On log-log axes a power law is a straight line. A wave arrives at distance d after "
    "d / c steps (slope 1, the dashed line is the theory's speed c = √(αη_h)); heat needs "
    "about d² / (ρη_h) steps (slope 2), and in deep nets it never gets far: only the layers "
    "that were reached appear. " + ui.credit_arrival_text(run),
    r"t(d) = \frac{d}{\sqrt{\alpha\,\eta_h}}\quad\text{(PC-ALM, wave)},\qquad"
    r"t(d) \approx \frac{d^2}{\rho\,\eta_h}\quad\text{(PC, heat)}",
)

st.subheader("Downloads")
st.caption("The telemetry of both inference runs (every quantity, step and layer) and the "
           "arrival figure:")
ui.show_downloads(name="credit_arrival", figure=arrival, files=ui.credit_data_files(run))
ui.credit_keep_in_url()
