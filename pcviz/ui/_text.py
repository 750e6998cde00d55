"""Words and equations of the live lab, kept apart from the layout so they read as a text."""

from __future__ import annotations

from ..claims import gradient_summary
from ..config_fields import rule_label

INTRO = (
    "Three ways of assigning credit in a deep network, trained side by side from the same "
    "weights on the same batches. **BP** computes the exact gradient in one backward pass. "
    "**Predictive coding (PC)** and **PC-ALM** find it by *inference*: before each weight "
    "update they take **T** local steps on the hidden states, and each layer learns from the "
    "credit that has reached it by then. Press **Play** and watch how far down the credit gets."
)

RULES: dict[str, tuple[str, str]] = {
    "BP": (
        "The reference: exact adjoints $\\delta_i = \\partial\\ell/\\partial h_i$, passed down "
        "layer by layer in one backward pass.",
        r"\delta_{i-1} = \Big(\frac{\partial f_i}{\partial h_{i-1}}\Big)^{\!\top}\delta_i",
    ),
    "PC": (
        "Relaxes the forward pass: the prediction errors $r_i = h_i - f_i(h_{i-1})$ cost energy, "
        "and inference descends it, $h \\leftarrow h - \\eta_h \\nabla_h F$.",
        r"F = \ell(\hat y, y) + \frac{\rho}{2}\sum_{i=1}^{L-1}\lVert r_i\rVert^2",
    ),
    "PC-ALM": (
        "Adds a multiplier $\\lambda_i$ per layer (the augmented Lagrangian): descend in $h$, "
        "ascend in $\\lambda$, $\\lambda_i \\leftarrow \\lambda_i + \\alpha\\, r_i$. With "
        "$\\alpha = 0$ it is PC.",
        r"\mathcal{L}_\rho = \ell + \sum_{i}\lambda_i^{\top} r_i"
        r" + \frac{\rho}{2}\sum_{i}\lVert r_i\rVert^2",
    ),
}

HEATMAPS = (
    "Each panel is **one training step seen from inside**: x is the inference step $t$, y the "
    "hidden layer (input at the bottom, output at the top), the colour the credit "
    "$\\lVert\\lambda_i + \\rho r_i\\rVert$ that layer's weights learn from, on one colour scale "
    "for all panels. The line marks each layer's *arrival*: the first step at which its credit "
    "reaches half of BP's $\\lVert\\delta_i\\rVert$."
)

DIFFUSIVE = (
    "**Diffusive (PC).** A layer's error only moves to its neighbours, and the energy damps it: "
    "credit spreads like heat. After $t$ steps it has reached about $\\sqrt{\\rho\\,\\eta_h t}$ "
    "layers below the output, so the front *bends* and, in a deep net, stalls near the output: "
    "the lower layers learn from almost nothing."
)
DIFFUSIVE_EQ = r"\text{reach}_{\mathrm{PC}}(t) \approx \sqrt{\rho\,\eta_h\,t}"

BALLISTIC = (
    "**Ballistic (PC-ALM).** The multipliers remember the error that has passed through a "
    "layer; states and multipliers together obey a wave equation. The front moves at a "
    "constant $\\sqrt{\\alpha\\,\\eta_h}$ layers per step, a *straight diagonal*, and reaches "
    "the input at $t \\approx L/\\sqrt{\\alpha\\eta_h}$: $2L$ for $\\eta_h = 1/4$, "
    "$\\alpha = 1$, hence the default $T = 2L$; an auto $\\eta_h$ below $1/4$ needs a few "
    "steps more."
)
BALLISTIC_EQ = (
    r"\text{front}_{\mathrm{ALM}}(t) \approx \sqrt{\alpha\,\eta_h}\;t,"
    r"\qquad t_{\mathrm{input}} \approx L/\sqrt{\alpha\,\eta_h}"
)

CURVES = (
    "Mini-batch loss $\\tfrac12\\lVert\\hat y - y\\rVert^2$ (log scale) and training accuracy "
    "of every rule; dashed: test accuracy, measured every few dozen steps. All rules start "
    "from the same weights and see the same batches, so the differences come from the rule."
)

ALIGNMENT = (
    "Left, the **direction**: the cosine between each weight layer's update under PC or PC-ALM "
    "and BP's gradient, on a fixed batch at that rule's current weights (1: BP's direction, "
    "0: unrelated). Right, the **size**: that update's norm relative to BP's, on a log scale "
    "(1: BP's size). A cosine ignores size: a layer the credit has barely reached can point "
    "BP's way with an update thousands of times too small, and learn almost nothing. Read the "
    "two panels together."
)
ALIGNMENT_EQ = (
    r"\cos_\ell = \frac{\langle g_\ell,\, g^{\mathrm{BP}}_\ell\rangle}"
    r"{\lVert g_\ell\rVert\,\lVert g^{\mathrm{BP}}_\ell\rVert},"
    r"\qquad n_\ell = \frac{\lVert g_\ell\rVert}{\lVert g^{\mathrm{BP}}_\ell\rVert}"
)


def _share(ratio: float) -> str:
    """A norm ratio as a share of BP's: "0.48 of BP's", "1/24,000 of BP's"."""
    if not ratio > 0:
        return "none of BP's"
    if ratio >= 0.1:
        return f"{ratio:.2f} of BP's"
    return f"1/{float(f'{1 / ratio:.2g}'):,.0f} of BP's"


def alignment_note(comparison) -> str:
    """What the alignment figure shows now, rule by rule, in words: the range of the cosine
    and of the size, and how many layers get under a tenth of BP's update
    (`pcviz.claims.gradient_summary` of a `GradientComparison`); "" without norm ratios."""
    ratios = getattr(comparison, "norm_ratio", None)
    if not ratios:
        return ""
    parts = []
    for rule, cos in comparison.cosine.items():
        if rule not in ratios or rule == "bp":
            continue
        try:
            g = gradient_summary(cos, ratios[rule])
        except ValueError:
            continue
        text = (f"{rule_label(rule)}: cosine {g.cosine_low:.2f} to "
                f"{g.cosine_high:.2f}, size from {_share(g.ratio_low)} (layer "
                f"{g.smallest_ratio_layer}) to {_share(g.ratio_high)}")
        if g.small:
            text += f"; under a tenth of BP's in {g.small} of {g.layers} layers"
        parts.append(text)
    return ("**Now**: " + ". ".join(parts) + ".") if parts else ""


def eta_origin(*, auto: bool, live: bool = False) -> str:
    """What the activity step η_h shown beside a run was computed from (the live lab and the
    credit page compute the same value for the same settings)."""
    if not auto:
        return "set in the sidebar"
    start = "auto, computed once at the live run's start: " if live else "auto: "
    return (start + "1/λ_max(AᵀA) of this network's constraint Jacobian at its initial weights, "
            "on the fixed probe batch")


TIMES = (
    "Wall time of one training step of each rule on this machine, averaged after the first "
    "(compiling) step. PC and PC-ALM run $T$ inference steps, BP one backward pass; rules "
    "stepped together share one batched computation, and so one time."
)

DIVERGED = (
    "{rule} diverged at step {step} (its loss or weights stopped being finite). The other "
    "rules go on; press **Reset** to start again. A smaller learning rate or $\\eta_h$ helps."
)

PAUSED = "Press **Play** to train, or **Step** for one batch: the heatmaps show the latest batch."

COMPILING = (
    "Compiling this configuration's programs: the first run of a configuration on this server "
    "takes a few seconds more (later runs load them from the cache). Play starts as soon as "
    "they are ready."
)
"""Shown while a run's programs are being compiled."""
