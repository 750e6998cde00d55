"""Presets for lectures: each sets every sidebar widget, so that the run is reproducible."""

from __future__ import annotations

from typing import Any, NamedTuple

import streamlit as st

from ..config import ModelConfig, RuleConfig, TrainConfig
from ._sidebar_fields import configs_from_values, widget_values

PRESET_KEY = "cfg_preset"
CUSTOM = "Custom (your own settings)"


class Preset(NamedTuple):
    """A named configuration: what to look at (`about`) and the widget values it changes
    from the defaults (`changes`, widget key -> value)."""

    about: str
    changes: dict[str, Any]


PRESETS: dict[str, Preset] = {
    "Quick look (default)": Preset(
        "A 16-layer ReLU net of width 32 on a generated MNIST-like set, BP, PC and PC-ALM "
        "side by side from the same weights. Press Play.",
        {},
    ),
    "PC stalls in deep narrow nets": Preset(
        "64 layers of width 32 (ReLU, μPC), T = 2L. PC's credit stays near the output while "
        "PC-ALM's reaches the input. In the lower layers PC's weight gradient is unrelated to "
        "BP's (cosine near 0) and millions of times smaller, and its loss falls more slowly.",
        {"cfg_depth": 64, "cfg_width": 32},
    ),
    "The ballistic wave": Preset(
        "PC against PC-ALM in a 64-layer net with η_h = 1/4, α = 1 and T = 4L. PC-ALM's credit "
        "front is a straight diagonal moving √(αη_h) = 1/2 layer per step and reaches the "
        "input near t = 2L; PC's bends like √t and dies out. Try the log scale.",
        {"cfg_depth": 64, "cfg_rules": ["pc", "pcalm"], "cfg_steps": 256, "cfg_eta": 0.25},
    ),
    "Linear nets: exact BP": Preset(
        "A linear 12-layer net of width 16 on a linear teacher, T = 128L. PC-ALM's inference "
        "converges to the KKT point, so its weight gradient is BP's: cosine 1.000 and the same "
        "size (within 1 %) in every layer of the alignment plot. PC's cosine is lower in "
        "every layer and lowest at the readout, the output end; its gradient is several "
        "times smaller than BP's in every layer.",
        {"cfg_depth": 12, "cfg_width": 16, "cfg_activation": "linear", "cfg_dataset": "teacher",
         "cfg_steps": 1536, "cfg_eta": 0.25, "cfg_batch": 32},
    ),
}


def preset_configs(name: str) -> tuple[ModelConfig, RuleConfig, TrainConfig]:
    """The configurations preset `name` runs (the defaults with its changes), made from its
    widget values the way the sidebar makes them."""
    return configs_from_values(preset_values(name), (ModelConfig(), RuleConfig(), TrainConfig()))


def preset_values(name: str) -> dict[str, Any]:
    """Every widget's value under preset `name`: the defaults, then the preset's changes."""
    values = widget_values(ModelConfig(), RuleConfig(), TrainConfig())
    values.update(PRESETS[name].changes)
    return values


def apply_preset() -> None:
    """Callback of the preset selector: set the widgets (the run then resets)."""
    name = st.session_state.get(PRESET_KEY)
    if name in PRESETS:
        st.session_state.update(preset_values(name))


def mark_custom() -> None:
    """Callback of every other sidebar widget: the settings no longer match a preset."""
    st.session_state[PRESET_KEY] = CUSTOM


def preset_selector() -> None:
    """The preset selectbox and a line on what the chosen preset shows."""
    options = [CUSTOM, *PRESETS]
    if st.session_state.get(PRESET_KEY) not in options:
        st.session_state[PRESET_KEY] = CUSTOM
    st.selectbox("Preset for a lecture", options, key=PRESET_KEY, on_change=apply_preset,
                 help="Sets every control below to a configuration that shows one effect.")
    name = st.session_state[PRESET_KEY]
    if name in PRESETS:
        st.caption(PRESETS[name].about)
