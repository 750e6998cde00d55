"""Depth x width sweep: the paper's grid, trained in the background."""

import streamlit as st

from pcviz import figures, service, sweeps, ui
from pcviz.store import StoreError

st.title("Depth × width sweep")
st.markdown(
    "Does a rule still learn when the network gets deep and narrow? Every cell of the grid "
    "trains a fresh network of that depth and width with each chosen rule, from the same "
    "weights on the same batches, then measures test accuracy. PC's credit spreads like "
    "heat, so in deep nets it hardly reaches the lower layers within T = 2L inference steps "
    "and PC falls behind BP; PC-ALM's credit travels as a wave and arrives everywhere, so it "
    "should track BP."
)
st.markdown(
    f"**The defaults, and why.** {ui.SWEEP_DEFAULTS_TEXT} The data set and learning rate are this "
    "page's own; the activation, parameterisation, T, η_h, ρ, α and optimiser come from the "
    "sidebar."
)

model, rule, train = ui.current_config()
url_id = st.query_params.get("sweep")
try:
    ui.seed_sweep_widgets(url_id)
    ui.sweep_controls()
    spec = ui.pinned_sweep_spec(url_id, ui.read_sweep_spec(model, rule, train))
except StoreError as err:
    st.error(f"The run store cannot be used: {err}")
    st.stop()
ui.sweep_keep_in_url(spec)
if spec is None:
    st.stop()
service.start()  # the cluster comes up in the background while the page draws
sweep_id = sweeps.sweep_id(spec)
job = ui.job_for(sweep_id, spec)
if ui.resume_if_orphaned(job, sweep_id):
    st.info("This sweep was running on a server that stopped: resuming where it was.")
snap = ui.sweep_snapshot(spec, job)
st.caption(f"Sweep {sweep_id}: {snap.total} cells × {len(spec.train.rules)} rules, "
           f"{spec.max_steps} batches of {spec.train.batch_size} each, on "
           f"{spec.train.dataset}, learning rate {ui.learning_rate_text(spec)}; T = "
           f"{'2L per depth' if spec.rule.steps is None else spec.rule.steps}. The sweep runs "
           "on the run service and every finished cell is kept in the run store: you may "
           "leave this page, reload it or share its address.")
left, right, _ = st.columns([1.6, 0.8, 3])
done = ui.finished_count(snap) == snap.total
left.button("Running…" if snap.running else "Done: every cell trained" if done else
            "Run the remaining cells" if snap.cells else "Run sweep",
            on_click=job.start, disabled=snap.running or done, type="primary",
            key="sweep-run", width="stretch")
right.button("Stop", on_click=job.stop, disabled=not snap.running, key="sweep-stop",
             width="stretch")


@st.fragment(run_every=1.0 if snap.running else None)
def results(spec: sweeps.SweepSpec) -> None:
    now = ui.sweep_snapshot(spec, job)
    if snap.running and not now.running:
        st.rerun()  # finished: redraw the whole page (buttons, downloads)
    if now.error:
        st.error(f"The sweep stopped: {now.error}")
    elif now.stopped and ui.finished_count(now) < now.total:
        st.info("Stopped. Press the button above to run the remaining cells.")
    for cell in (c for c in now.cells if c.state == "failed"):
        st.warning(f"Cell L = {cell.depth}, N = {cell.width}, seed {cell.seed} failed: "
                   f"{cell.error} (it runs again with the remaining cells).")
    st.progress(ui.finished_count(now) / now.total, text=ui.sweep_progress_text(now))
    if not now.cells:
        if not now.running:
            st.info("Press **Run sweep** to train the grid.")
        return
    shown = sweeps.summarise(spec, now.cells, setting=setting)
    noise, trend = shown.noise, shown.trend
    maps, side = st.columns([3, 2])
    maps.plotly_chart(figures.sweep_heatmaps(
        spec.depths, spec.widths, shown.accuracy, spread=shown.spread,
        difference_spread=shown.difference_spread), key="sweep-heatmaps")
    if trend.mean:
        side.plotly_chart(figures.sweep_depth_trend(spec.depths, trend.mean, trend.spread,
                                                    noise=noise), key="sweep-depth-trend")
        side.metric("Seed spread of a difference to BP", "—" if noise != noise else
                    f"±{noise:.1f} points", help="The median over cells of the standard "
                    "deviation over seeds of the paired difference to BP: differences "
                    "smaller than this are noise.")
        side.markdown(ui.sweep_trend_text(trend, noise))


setting = ui.choose_sweep_setting(spec)
results(spec)
ui.explain(
    "Each panel is one rule: rows are depths L, columns widths N, and the number in a cell "
    "is the test accuracy after the same number of batches, averaged over seeds. The bottom "
    "row subtracts BP's accuracy (percentage points), seed by seed, on a fixed scale from "
    "−30 to +30: white is no difference, red means the rule falls behind BP, blue that it "
    "beats it. Under each difference, ± its standard deviation over seeds: every rule "
    "starts from the same weights and sees the same batches, so a difference smaller than "
    "that is noise. The plot beside averages the differences over widths, depth by depth, "
    "with error bars of one standard deviation over seeds and a grey band of the typical "
    "spread. A rule that diverged leaves its cell empty.",
    r"\Delta_{\text{rule}}(L, N) = \frac{100}{|S|}\sum_{s \in S}"
    r"\big(\text{acc}^{(s)}_{\text{rule}}(L, N) - \text{acc}^{(s)}_{\text{BP}}(L, N)\big)",
    r"\text{PC: reach} \approx \sqrt{\rho\,\eta_h T}\ \text{layers},\qquad"
    r"\text{PC-ALM: reach} \approx \sqrt{\alpha\,\eta_h}\,T\ \text{layers}",
)

final = ui.sweep_snapshot(spec, job)
if final.cells and not final.running:
    st.subheader("Downloads")
    ui.show_downloads(name="sweep", files=ui.sweep_download_files(spec, final.cells, setting))
