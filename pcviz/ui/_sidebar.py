"""The shared sidebar: one widget per configuration field, each with `key=` (`cfg_*`).

The widgets take their values from `st.session_state` (seeded from the URL or a preset by
`_state`); ranges are `_state.UI_LIMITS`. Each widget also passes its current value as its
default (`value=`, `index=`, `default=`; a keyed widget's identity does not depend on it), so
the browser shows the right value even when it missed the one update that set it, as it can
when a new rerun interrupts the visit's first.
"""

from __future__ import annotations

import math

import streamlit as st

from ..config import ACTIVATIONS, DATASETS, LR_SCALE, OPTIMISERS, RULES
from ..data import install_hint, is_available
from ._presets import mark_custom, preset_selector
from ._state import UI_LIMITS

RULE_NAMES = {"bp": "BP", "pc": "PC", "pcalm": "PC-ALM"}
DATASET_NAMES = {
    "spirals": "Spirals (2-D, generated)",
    "circles": "Circles (2-D, generated)",
    "xor": "XOR (2-D, generated)",
    "gaussians": "Gaussians (2-D, generated)",
    "teacher": "Linear teacher (generated)",
    "synthetic-mnist": "MNIST-like digits (generated)",
    "fashion-mnist": "Fashion-MNIST",
    "mnist": "MNIST",
}
PARAM_NAMES = {"mupc": "μPC (Depth-μP, 1/√(NL) skips)", "sp": "standard (SP)"}


@st.cache_data(ttl=300, show_spinner=False)
def _available(name: str) -> bool:
    return is_available(name)


def _dataset_label(name: str) -> str:
    text = DATASET_NAMES.get(name, name)
    return text if _available(name) else f"{text}: not installed"


def _number(label: str, key: str, name: str, *, step, fmt: str | None = None,
            optional: bool = False, placeholder: str | None = None, help: str | None = None):
    lo, hi = UI_LIMITS[name]
    value = st.session_state.get(key, None if optional else lo)
    st.number_input(label, min_value=lo, max_value=hi, value=value, step=step, format=fmt,
                    key=key, help=help, placeholder=placeholder, on_change=mark_custom)


def _select(label: str, options, key: str, **kwargs):
    current = st.session_state.get(key)
    index = options.index(current) if current in options else 0
    st.selectbox(label, options, index=index, key=key, on_change=mark_custom, **kwargs)


def _data_and_network() -> None:
    st.subheader("Data and network")
    _select("Data set", DATASETS, "cfg_dataset", format_func=_dataset_label,
            help="Generated sets work anywhere. Fashion-MNIST: "
                 + install_hint("fashion-mnist") + " MNIST: " + install_hint("mnist"))
    chosen = st.session_state.get("cfg_dataset")
    for name in dict.fromkeys(n for n in ("fashion-mnist", chosen) if n in DATASET_NAMES):
        if not _available(name):
            st.caption(f"**{DATASET_NAMES[name]}** is not installed. {install_hint(name)}")
    left, right = st.columns(2)
    with left:
        _number("Depth L", "cfg_depth", "depth", step=1, help="Weight layers (L-1 hidden).")
    with right:
        _number("Width N", "cfg_width", "width", step=1, help="Units per hidden layer.")
    _select("Activation φ", ACTIVATIONS, "cfg_activation")
    _select("Parameterisation", ("mupc", "sp"), "cfg_param", format_func=PARAM_NAMES.get)


def _rules() -> None:
    st.subheader("Learning rules")
    st.multiselect("Rules to compare", RULES, default=st.session_state.get("cfg_rules"),
                   key="cfg_rules", format_func=RULE_NAMES.get, on_change=mark_custom,
                   help="All start from the same weights and see the same batches.")
    depth = st.session_state.get("cfg_depth") or 2
    left, right = st.columns(2)
    with left:
        _number("Steps T", "cfg_steps", "steps", step=1, optional=True,
                placeholder=f"2L = {2 * depth}",
                help="Inference steps per training step. Empty: T = 2L.")
    with right:
        _number("Step η_h", "cfg_eta", "eta", step=0.01, fmt="%.4g", optional=True,
                placeholder="auto",
                help="Activity step size. Empty: 1/λ_max(AᵀA), found by power iteration.")
    left, right = st.columns(2)
    with left:
        _number("Penalty ρ", "cfg_rho", "rho", step=0.1, fmt="%.4g")
    with right:
        _number("Dual step α", "cfg_alpha", "alpha", step=0.1, fmt="%.4g",
                help="PC-ALM's multiplier step; PC is α = 0.")


def _training() -> None:
    st.subheader("Training")
    depth = st.session_state.get("cfg_depth") or 2
    width = st.session_state.get("cfg_width") or 1
    auto_lr = LR_SCALE * math.sqrt(width / depth)
    left, right = st.columns(2)
    with left:
        _number("Batch size", "cfg_batch", "batch_size", step=8)
    with right:
        _number("Seed", "cfg_seed", "seed", step=1, help="Weights, batches and data.")
    _number("Learning rate", "cfg_lr", "learning_rate", step=1e-4, fmt="%.2e", optional=True,
            placeholder=f"auto: {auto_lr:.2e}",
            help=f"Empty: {LR_SCALE:g}·√(N/L). Changes take effect at once, without resetting "
                 "the run.")
    with st.expander("More"):
        _select("Optimiser (optax)", OPTIMISERS, "cfg_optimizer")


def draw() -> None:
    """Draw every configuration widget in the sidebar."""
    with st.sidebar:
        preset_selector()
        _data_and_network()
        _rules()
        _training()
        st.caption(
            "The browser keeps runs interactive: depth ≤ 256, width ≤ 512, T ≤ 2048, "
            "batch ≤ 1024. The command line (`python -m pcviz`) takes the full ranges. "
            "Every setting is in the page's address: copy it to share this run."
        )
