"""A long run keeps host memory flat: bounded histories, only the latest telemetry kept, and
a page's live charts built again only when what they show has changed."""

import resource

import pytest

from pcviz.config import ModelConfig, RuleConfig, TrainConfig
from pcviz.train import Session


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.slow
def test_two_thousand_steps_keep_memory_flat():
    session = Session(ModelConfig(depth=8, width=64), RuleConfig(steps=8),
                      TrainConfig(dataset="spirals", batch_size=16))
    session.step(200)  # compile and warm up allocator pools
    start = _rss_mib()
    samples = []
    for _ in range(9):
        session.step(200)
        samples.append(_rss_mib())
    assert session.step_count == 2000
    growth = samples[-1] - start
    print(f"RSS {start:.0f} MiB after warm-up, {samples[-1]:.0f} MiB after 2000 steps")
    assert growth < 40, f"RSS grew {growth:.1f} MiB over 1800 steps: {samples}"
    for record in session.records.values():
        assert len(record.loss.steps) <= 2000 and record.loss.steps[-1] == 2000


def _charts_script():
    """A page with one live chart whose figure shows `st.session_state.value`; counts builds."""
    import plotly.graph_objects as go
    import streamlit as st

    from pcviz.ui._live_chart import live_chart

    st.session_state.setdefault("builds", 0)
    value = st.session_state.get("value", 0)

    def build():
        st.session_state.builds += 1
        return go.Figure(go.Scatter(y=[1.0, 2.0, value]))

    live_chart(build, key="chart", content=value)


def test_live_charts_are_built_again_only_when_their_content_changes():
    """Reruns with the same content send the same message, byte for byte, without building the
    figure (Streamlit then sends the browser a reference to the copy it holds)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_charts_script, default_timeout=120)
    messages = []
    for value in (0, 0, 0, 1, 1, 2):
        at.session_state["value"] = value
        at.run()
        assert not at.exception
        messages.append(at.get("bidi_component")[0].proto.json)
    assert at.session_state["builds"] == 3
    assert messages[0] == messages[1] == messages[2] != messages[3] == messages[4]
    assert '"y":[1.0,2.0,2' in messages[5].replace(" ", "").replace("\\", "")
