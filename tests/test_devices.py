"""The host's CPU split into devices, and the engine's steps laid over them."""

from __future__ import annotations

import os
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P

import pcviz
from pcviz import _devices, _steps
from pcviz.rules import infer

needs_two = pytest.mark.skipif(len(jax.devices()) < 2, reason="needs two JAX devices (two cores)")


def _problem(depth=6, width=8, batch=8):
    cfg = pcviz.ModelConfig(depth=depth, width=width, activation="tanh", input_dim=5,
                            output_dim=3)
    model = pcviz.init_model(cfg, jax.random.PRNGKey(0))
    x = jax.random.normal(jax.random.PRNGKey(1), (batch, 5))
    y = jax.nn.one_hot(jnp.arange(batch) % 3, 3)
    return model, x, y


def test_the_cpu_is_split_into_one_device_per_usable_core():
    flags = os.environ.get("XLA_FLAGS", "")
    if os.environ.get(_devices.CPU_DEVICES_ENV) or "device_count" in flags:
        pytest.skip("the device count was set by hand")
    if jax.default_backend() != "cpu":
        pytest.skip("not a CPU backend")
    assert len(jax.devices()) == _devices.usable_cores()


@pytest.fixture
def split_everything(monkeypatch):
    """Every step split, however small (compiled programs made under this are dropped)."""
    monkeypatch.setattr(_devices, "SPLIT_WORK", 0)
    _devices.step_mesh.cache_clear()
    jax.clear_caches()
    yield
    monkeypatch.undo()
    _devices.step_mesh.cache_clear()
    jax.clear_caches()


@needs_two
def test_the_mesh_splits_only_what_divides_evenly_and_is_worth_it():
    assert _devices.step_mesh(1) is None
    assert _devices.step_mesh(2).devices.size == 2
    assert _devices.step_mesh(4).devices.size == 2
    assert _devices.step_mesh(3) is None if len(jax.devices()) == 2 else True
    assert _devices.step_mesh(2, work=_devices.SPLIT_WORK - 1) is None
    small = _devices.step_work((6, 32, 32), steps=16, batch=64)  # L = 8, T = 2L
    large = _devices.step_work((30, 32, 32), steps=64, batch=64)  # L = 32, T = 2L
    assert small < _devices.SPLIT_WORK <= large


def test_a_small_step_stays_on_one_device():
    model, x, y = _problem()
    models, opt_states = _steps.init_group(model, 1e-2, count=2, optimizer="adam")
    out = _steps.inference_step(models, opt_states, jnp.asarray([0.0, 1.0]), jnp.ones(2, bool),
                                x, y, 0.2, 1.0, jnp.asarray(1e-2), steps=8, record=False,
                                optimizer="adam")
    assert len(jax.tree_util.tree_leaves(out[0])[0].devices()) == 1


@needs_two
def test_inference_with_the_batch_split_over_devices_is_inference_on_the_whole_batch():
    model, x, y = _problem()
    options = dict(steps=12, eta=0.2, rho=1.0, alpha=0.5)
    whole, tel = infer(model, x, y, **options)
    mesh = Mesh(np.array(jax.devices()[:2]), ("batch",))
    split = jax.jit(jax.shard_map(
        partial(infer, **options, batch_axis="batch"), mesh=mesh,
        in_specs=(P(), P("batch"), P("batch")),
        out_specs=(P(None, "batch"), P()),
    ))
    state, split_tel = split(model, x, y)
    np.testing.assert_allclose(state.h, whole.h, rtol=1e-5, atol=1e-6)
    for name in tel._fields:
        if name == "alignment":  # a cosine, well defined where there is credit to measure
            held = np.asarray(tel.credit) > 1e-3 * float(np.max(tel.credit))
            assert held.sum() > held.size // 2
            np.testing.assert_allclose(split_tel.alignment[held], tel.alignment[held],
                                       rtol=1e-4, atol=1e-5)
            continue
        np.testing.assert_allclose(getattr(split_tel, name), getattr(tel, name), rtol=1e-5,
                                   atol=1e-6, err_msg=name)


@needs_two
def test_a_two_rule_step_runs_one_rule_per_device_and_keeps_the_weights_there(split_everything):
    model, x, y = _problem()
    models, opt_states = _steps.init_group(model, 1e-2, count=2, optimizer="adam")
    args = (models, opt_states, jnp.asarray([0.0, 1.0]), jnp.ones(2, bool), x, y, 0.2, 1.0,
            jnp.asarray(1e-2))
    out = _steps.inference_step(*args, steps=8, record=True, optimizer="adam")
    leaf = jax.tree_util.tree_leaves(out[0])[0]
    assert {s.device for s in leaf.addressable_shards} == set(jax.devices()[:2])
    assert [s.data.shape[0] for s in leaf.addressable_shards] == [1, 1]
    for rule, alpha in enumerate((0.0, 1.0)):  # each rule as if it stepped alone
        alone = _steps.inference_step(
            _steps.stack([_steps.unstack(models, rule)]),
            _steps.stack([_steps.unstack(opt_states, rule)]), jnp.asarray([alpha]),
            jnp.ones(1, bool), x, y, 0.2, 1.0, jnp.asarray(1e-2), steps=8, record=True,
            optimizer="adam")
        for a, b in zip(jax.tree_util.tree_leaves(_steps.unstack(out, rule)),
                        jax.tree_util.tree_leaves(_steps.unstack(alone, 0))):
            # float32 rounding of a rule stepped alone against stacked (test_train allows 1e-4)
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@needs_two
def test_a_sweeps_units_split_over_devices_train_as_they_do_together(split_everything):
    from pcviz import _cells

    model, x, y = _problem()
    models, opt_states = _steps.init_group(model, 1e-2, count=1, optimizer="adam")
    units = [_steps.stack([t, t]) for t in (models, opt_states)]
    alphas, active = jnp.asarray([[0.0], [1.0]]), jnp.ones((2, 1), bool)
    xs, ys = jnp.stack([x, x[::-1]]), jnp.stack([y, y[::-1]])
    eta, lr = jnp.asarray([0.2, 0.1]), jnp.asarray([1e-2, 3e-2])
    mesh = _cells._unit_mesh(units[0], xs, 8)
    split = _cells.unit_inference_step(*units, alphas, active, xs, ys, eta, 1.0, lr, steps=8,
                                       optimizer="adam", mesh=mesh)
    assert len(jax.tree_util.tree_leaves(split[0])[0].devices()) == 2
    step = partial(_steps.stacked_inference_step, steps=8, record=False, optimizer="adam")
    together = jax.vmap(step, in_axes=(0, 0, 0, 0, 0, 0, 0, None, 0))(
        *units, alphas, active, xs, ys, eta, 1.0, lr)[:3]
    for a, b in zip(jax.tree_util.tree_leaves(split), jax.tree_util.tree_leaves(together)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)  # an Adam step of lr >= 1e-2
