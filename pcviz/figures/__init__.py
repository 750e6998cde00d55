"""Plotly figures of pcviz: pure functions from numpy arrays to `go.Figure`.

Every function takes host arrays (telemetry of `pcviz.weight_grads`, histories of a training
session, results of `pcviz.analysis` / `pcviz.theory`) keyed by rule name (`"bp"`, `"pc"`,
`"pcalm"`, drawn in the order given) and returns a new figure. Nothing here imports streamlit
or jax, nothing mutates its inputs, and no function raises on NaN or inf: a rule whose array
has no finite value is left out and noted "<rule> diverged".

Shared conventions (private module `_style`): labels `RULE_LABELS`, colour-blind-safe colours
`RULE_COLORS`, `template="plotly_white"`, a constant `layout.uirevision` per figure kind (live
updates keep the user's zoom), heatmaps with inference step on x and hidden layer 1 (next to
the input) at the bottom.

Private modules: `_style` (look, NaN helpers), `_heatmap` (inference heatmaps), `_credit`
(credit propagation page), `_live` (live lab), `_theory` (linear theory page), `_sweep`
(depth x width grid), `_html` (offline HTML export), `_lecture` (large type for a lecture).
"""

from ._boundary import decision_regions as decision_regions
from ._credit import alignment_vs_step as alignment_vs_step
from ._credit import arrival_plot as arrival_plot
from ._credit import credit_profile as credit_profile
from ._credit import energy_plot as energy_plot
from ._heatmap import heatmap_frame as heatmap_frame
from ._heatmap import inference_heatmaps as inference_heatmaps
from ._html import figure_html as figure_html
from ._lecture import for_lecture as for_lecture
from ._live import layer_alignment as layer_alignment
from ._live import overlay_curves as overlay_curves
from ._live import step_times as step_times
from ._live import training_curves as training_curves
from ._network import network_diagram as network_diagram
from ._style import RULE_COLORS as RULE_COLORS
from ._style import RULE_LABELS as RULE_LABELS
from ._sweep import sweep_depth_trend as sweep_depth_trend
from ._sweep import sweep_heatmaps as sweep_heatmaps
from ._theory import dispersion_plot as dispersion_plot
from ._theory import eigenvalue_plot as eigenvalue_plot
from ._theory import exactness_plot as exactness_plot
from ._theory import stability_plot as stability_plot

__all__ = [
    "RULE_COLORS",
    "RULE_LABELS",
    "alignment_vs_step",
    "arrival_plot",
    "credit_profile",
    "decision_regions",
    "dispersion_plot",
    "eigenvalue_plot",
    "energy_plot",
    "exactness_plot",
    "figure_html",
    "for_lecture",
    "heatmap_frame",
    "inference_heatmaps",
    "layer_alignment",
    "network_diagram",
    "overlay_curves",
    "stability_plot",
    "step_times",
    "sweep_depth_trend",
    "sweep_heatmaps",
    "training_curves",
]
