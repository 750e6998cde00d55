"""Depth x width sweep: the paper's grid, trained in the background."""

import streamlit as st

from pcviz import figures, ui
from pcviz.ui import _sweep as sw

st.title("Depth × width sweep")
st.markdown(
    "Does a rule still learn when the network gets deep and narrow? Every cell of the grid "
    "trains a fresh network of that depth and width with each chosen rule, from the same "
    "weights on the same batches, then measures test accuracy. PC's credit spreads like "
    "heat, so in deep nets it hardly reaches the lower layers within T = 2L inference steps "
    "and PC falls behind BP; PC-ALM's credit travels as a wave and arrives everywhere, so it "
    "should track BP. The rest of the configuration (data set, activation, T, η_h, ρ, α, "
    "batch size, learning rate) comes from the sidebar."
)

model, rule, train = ui.current_config()
sw.controls()
spec = sw.read_spec(model, rule, train)
sw.keep_in_url()
if spec is None:
    st.stop()
job = sw.job_for(spec.key(), spec)
snap = job.snapshot()
st.caption(f"{snap.total} cells × {len(spec.train.rules)} rules, {spec.max_steps} batches "
           f"each, on {spec.train.dataset}; T = "
           f"{'2L per depth' if spec.rule.steps is None else spec.rule.steps}. The sweep runs "
           "on the server: you may leave this page and come back.")
left, right, _ = st.columns([1.6, 0.8, 3])
done = len(snap.cells) == snap.total
left.button("Running…" if snap.running else "Done: every cell trained" if done else
            "Run the remaining cells" if snap.cells else "Run sweep",
            on_click=job.start, disabled=snap.running or done, type="primary",
            key="sweep-run", width="stretch")
right.button("Stop", on_click=job.stop, disabled=not snap.running, key="sweep-stop",
             width="stretch")


@st.fragment(run_every=1.0 if snap.running else None)
def results() -> None:
    now = job.snapshot()
    if snap.running and not now.running:
        st.rerun()  # finished: redraw the whole page (buttons, downloads)
    if now.error:
        st.error(f"The sweep stopped: {now.error}")
    elif now.stopped and len(now.cells) < now.total:
        st.info("Stopped. Press the button above to run the remaining cells.")
    st.progress(len(now.cells) / now.total, text=sw.progress_text(now))
    if now.cells:
        fig = figures.sweep_heatmaps(spec.depths, spec.widths, sw.grids(spec, now.cells))
        st.plotly_chart(fig, key="sweep-heatmaps")
    elif not now.running:
        st.info("Press **Run sweep** to train the grid.")


results()
ui.explain(
    "Each panel is one rule: rows are depths L, columns widths N, and the number in a cell "
    "is the test accuracy after the same number of batches. The bottom row subtracts BP's "
    "accuracy (percentage points): blue means the rule matches or beats BP, red that it "
    "falls behind. A rule that diverged leaves its cell empty.",
    r"\Delta_{\text{rule}}(L, N) = 100\,\big(\text{acc}_{\text{rule}}(L, N)"
    r" - \text{acc}_{\text{BP}}(L, N)\big)",
    r"\text{PC: reach} \approx \sqrt{\rho\,\eta_h T}\ \text{layers},\qquad"
    r"\text{PC-ALM: reach} \approx \sqrt{\alpha\,\eta_h}\,T\ \text{layers}",
)

final = job.snapshot()
if final.cells and not final.running:
    st.subheader("Downloads")
    fig = figures.sweep_heatmaps(spec.depths, spec.widths, sw.grids(spec, final.cells))
    ui.show_downloads(name="sweep", figure=fig, files={
        "sweep.csv": sw.cells_csv(final.cells), "sweep.json": sw.cells_json(spec, final.cells)})
