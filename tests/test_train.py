"""Training sessions: lockstep rules, BP's optimiser step, divergence, bounded histories."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from pcviz import _steps
from pcviz.config import ModelConfig, RuleConfig, TrainConfig
from pcviz.data import load_dataset
from pcviz.model import init_model, mse_loss
from pcviz.train import History, Session

MODEL = ModelConfig(depth=5, width=8, activation="tanh")


def _session(**train):
    defaults = dict(rules=("bp", "pc", "pcalm"), dataset="spirals", batch_size=16)
    return Session(MODEL, RuleConfig(steps=6), TrainConfig(**{**defaults, **train}))


def _leaves_equal(a, b):
    return all(np.array_equal(x, y) for x, y in
               zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))


def test_rules_start_from_the_same_weights_and_then_differ():
    session = _session()
    assert _leaves_equal(session.model("bp"), session.model("pc"))
    assert _leaves_equal(session.model("pc"), session.model("pcalm"))
    session.step(3)
    assert session.step_count == 3
    assert not _leaves_equal(session.model("pc"), session.model("pcalm"))
    assert not _leaves_equal(session.model("bp"), session.model("pc"))
    for record in session.records.values():
        assert record.loss.steps == [1, 2, 3] and record.status == "ok"
        assert record.telemetry is None or record.telemetry.credit.shape == (6, 4)
    assert session.record("bp").telemetry is None


def test_bp_in_a_session_is_an_optax_adam_step_on_the_session_batch():
    session = _session(rules=("bp",), learning_rate=0.01)
    data = load_dataset("spirals", seed=0)
    x, labels = session.batches.batch(0)
    model = init_model(session.model_config, jax.random.PRNGKey(0))
    y = jax.nn.one_hot(labels, data.num_classes)
    grads = jax.grad(lambda m: jnp.mean(mse_loss(m(x), y)))(model)
    optimizer = optax.adam(0.01)
    with jax.numpy_dtype_promotion("standard"):  # optax mixes int counters and floats
        updates, _ = optimizer.update(grads, optimizer.init(model), model)
    expected = optax.apply_updates(model, updates)
    session.step(1)
    for a, b in zip(jax.tree_util.tree_leaves(session.model("bp")),
                    jax.tree_util.tree_leaves(expected)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_batched_and_sequential_rules_agree():
    batched, sequential = _session(batch_rules=True), _session(batch_rules=False)
    assert len(batched.groups) == 2 and len(sequential.groups) == 3
    batched.step(4)
    sequential.step(4)
    for rule in ("pc", "pcalm"):
        for a, b in zip(jax.tree_util.tree_leaves(batched.model(rule)),
                        jax.tree_util.tree_leaves(sequential.model(rule))):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_a_diverging_rule_is_stopped_while_the_others_go_on():
    session = Session(MODEL, RuleConfig(steps=40, eta=9.0),
                      TrainConfig(rules=("bp", "pcalm"), dataset="spirals", batch_size=16))
    session.step(5)
    assert session.record("pcalm").status == "diverged at step 1"
    assert session.record("bp").status == "ok"
    assert session.record("bp").loss.steps == [1, 2, 3, 4, 5]
    frozen = session.model("pcalm")
    assert all(np.all(np.isfinite(leaf)) for leaf in jax.tree_util.tree_leaves(frozen))
    session.step(1)
    assert _leaves_equal(frozen, session.model("pcalm"))


def test_learning_rate_changes_live_without_recompiling():
    session = _session(rules=("pc",), optimizer="sgd", learning_rate=0.1)
    session.step(1)
    size = _steps.inference_step._cache_size()
    before = session.model("pc")
    session.learning_rate = 0.0
    session.step(1)
    assert _leaves_equal(before, session.model("pc"))
    assert _steps.inference_step._cache_size() == size


def test_a_second_session_with_the_same_shape_compiles_nothing():
    _session().step(1)
    sizes = (_steps.inference_step._cache_size(), _steps.bp_step._cache_size())
    other = Session(MODEL, RuleConfig(steps=6, rho=2.0, alpha=0.5),
                    TrainConfig(rules=("bp", "pc", "pcalm"), dataset="spirals", batch_size=16,
                                seed=3))
    other.step(2)
    assert (_steps.inference_step._cache_size(), _steps.bp_step._cache_size()) == sizes


def test_evaluate_and_alignment():
    session = _session()
    session.step(2)
    accuracy = session.evaluate()
    assert set(accuracy) == {"bp", "pc", "pcalm"}
    assert all(0.0 <= a <= 1.0 for a in accuracy.values())
    cosines = session.gradient_alignment()
    assert cosines["pcalm"].shape == (MODEL.depth + 1,)
    assert np.all(np.abs(cosines["pc"]) <= 1.0 + 1e-5)
    assert cosines["pcalm"][-1] > cosines["pc"][-1]


def _layer_norms(grads) -> np.ndarray:
    """Per weight layer (input weights, each hidden, readout) norms of a gradient pytree."""
    hidden = np.asarray(grads.w_hidden).reshape(grads.w_hidden.shape[0], -1)
    return np.concatenate([[np.linalg.norm(grads.w_in)], np.linalg.norm(hidden, axis=1),
                           [np.linalg.norm(grads.w_out)]])


def test_gradient_comparison_norm_ratio_is_the_ratio_of_layer_norms():
    from pcviz import weight_grads
    from pcviz.config import with_changes

    session = _session()
    session.step(2)
    comparison = session.gradient_comparison()
    x, y = session._probe_batch
    assert set(comparison.norm_ratio) == {"bp", "pc", "pcalm"}
    np.testing.assert_array_equal(comparison.norm_ratio["bp"], np.ones(MODEL.depth + 1))
    for rule in ("pc", "pcalm"):
        model = session.model(rule)
        cfg = with_changes(session.rule_config, rule=rule, eta=session.eta, record=False)
        own = _layer_norms(weight_grads(model, x, y, cfg)[0])
        ref = _layer_norms(weight_grads(model, x, y, RuleConfig(rule="bp"))[0])
        ratio = comparison.norm_ratio[rule]
        assert ratio.shape == (MODEL.depth + 1,)
        np.testing.assert_allclose(ratio[:-1], own / ref, rtol=2e-3)
        np.testing.assert_allclose(ratio[-1], np.linalg.norm(own) / np.linalg.norm(ref),
                                   rtol=2e-3)
    # the cosines are the same program's other half: nothing more is compiled for them
    compiled = _steps.gradient_comparison._cache_size()
    np.testing.assert_array_equal(session.gradient_alignment()["pc"], comparison.cosine["pc"])
    assert _steps.gradient_comparison._cache_size() == compiled


def test_history_stays_bounded_and_keeps_the_whole_run():
    history = History(capacity=100)
    for step in range(1, 10_001):
        history.append(step, float(step))
    assert len(history.steps) <= 100
    assert history.steps[0] <= 256 and history.steps[-1] >= 9_800
    assert history.values == [float(s) for s in history.steps]


def test_unknown_rule_in_session_lookup():
    with pytest.raises(KeyError, match="not in this session"):
        _session(rules=("bp",)).model("pc")


def test_device_out_of_memory_becomes_a_clear_error(monkeypatch):
    from pcviz import train as train_module

    session = _session(rules=("bp",))

    def exhausted(*args, **kwargs):
        raise jax.errors.JaxRuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating 1 TiB")

    monkeypatch.setattr(train_module._steps, "bp_step", exhausted)
    with pytest.raises(train_module.OutOfMemory, match="Reduce the width"):
        session.step(1)


def test_a_closed_session_frees_its_weights_and_refuses_to_step():
    session = _session()
    session.step(2)
    session.close()
    assert session.groups == () and len(session.record("pc").loss.values) == 2
    with pytest.raises(RuntimeError, match="closed to free the server's memory"):
        session.step()


def test_a_session_names_its_rules_groups_and_records():
    session = _session()
    assert session.rules == ("bp", "pc", "pcalm")
    assert session.rule_groups == [("bp",), ("pc", "pcalm")]
    bp, inference = session.groups
    assert bp.is_bp and not inference.is_bp
    np.testing.assert_array_equal(inference.alphas, [0.0, session.rule_config.alpha])
    assert session.record("pc") is session.records["pc"]
    session.records.clear()  # a copy: the session keeps its own
    assert session.rules == ("bp", "pc", "pcalm")
    with pytest.raises(KeyError, match="bp, pc, pcalm"):
        session.record("nope")


def test_a_rule_marked_diverged_trains_no_more():
    session = _session()
    session.step(1)
    before = session.model("pc")
    session.mark_diverged("pc", 1)
    session.step(2)
    assert session.record("pc").status == "diverged at step 1"
    assert session.record("pc").loss.steps == [1] and session.record("bp").loss.steps == [1, 2, 3]
    assert _leaves_equal(before, session.model("pc"))


def test_restoring_another_sessions_state_is_refused():
    session, other = _session(), _session(rules=("bp", "pc"))
    with pytest.raises(ValueError, match="does not fit"):
        session.restore(step_count=1, batch_step=1, learning_rate=0.1, eta=0.1,
                        records=other.records, weights=[])
    assert session.step_count == 0
