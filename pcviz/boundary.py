"""The playground view of a run on 2-D data: each rule's decision regions over the data's box,
a sample of the training points, and how far each rule's credit reached through the network.

`decision_grid` evaluates every rule's network on a `size x size` grid spanning the training
points' box (and on a fixed sample of those points) in one compiled program per shape, and
reads the outputs as class probabilities. `credit_reach` reads, from the latest batch's
telemetry, which hidden layers each rule's credit reached during inference. `boundary_csv`
writes the grid and the points as one CSV file. Pure functions of host arrays and models; the
live run's actor calls them at its current weights.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from .analysis import arrival_steps
from .config import INFERENCE_RULES
from .model import ResidualMLP

PLANAR_DATASETS = ("spirals", "circles", "xor", "gaussians")
"""The generated sets whose inputs are points of the plane (two features)."""
GRID_SIZE = 64
"""Grid points per axis of the decision regions (64 x 64 = 4096 network evaluations)."""
SAMPLE_POINTS = 400
"""Training points drawn over the regions."""
MARGIN = 0.08
"""Fraction of the data's extent added on each side of the box."""


class DecisionGrid(NamedTuple):
    """Every rule's decision regions at one training step, and the points drawn over them.

    **Fields:**

    - `dataset`, `step`: the data set's name and the training step of the weights.
    - `x1` `(G,)`, `x2` `(G,)`: the grid's coordinates along each input (standardised units).
    - `probabilities`: rule -> `(G, G, K)` float32, row `i` at `x2[i]`, column `j` at
      `x1[j]` (see `class_probabilities`); NaN where the network's output is not finite.
    - `predicted`: rule -> `(G, G)` int16, the class $\\arg\\max_k \\hat y_k$; -1 where the
      output is not finite.
    - `points` `(S, 2)` float32, `labels` `(S,)` int32: a fixed sample of the training set.
    - `point_predicted`: rule -> `(S,)` int16, each point's predicted class (-1: not finite).
    - `num_classes`: `K`.
    """

    dataset: str
    step: int
    x1: Float[np.ndarray, " grid"]
    x2: Float[np.ndarray, " grid"]
    probabilities: dict[str, Float[np.ndarray, "grid grid classes"]]
    predicted: dict[str, Int[np.ndarray, "grid grid"]]
    points: Float[np.ndarray, "sample 2"]
    labels: Int[np.ndarray, " sample"]
    point_predicted: dict[str, Int[np.ndarray, " sample"]]
    num_classes: int

    @property
    def accuracy(self) -> dict[str, float]:
        """Rule -> fraction of the sampled points whose predicted class is their label."""
        return {rule: float(np.mean(pred == self.labels))
                for rule, pred in self.point_predicted.items()}


def is_planar(dataset: Any) -> bool:
    """Whether a data set's inputs are points of the plane: a name in `PLANAR_DATASETS`, or a
    loaded `Dataset` with two features."""
    if isinstance(dataset, str):
        return dataset in PLANAR_DATASETS
    return int(np.shape(dataset.x_train)[1]) == 2


def data_box(points: Float[np.ndarray, "n 2"], *,
             margin: float = MARGIN) -> tuple[tuple[float, float], ...]:
    """`((lo1, hi1), (lo2, hi2))`: each coordinate's range over `points` `(n, 2)`, widened by
    `margin` times that range on each side (by 1 when the range is empty)."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or not len(points):
        raise ValueError(f"points must be a non-empty (n, 2) array, got shape {points.shape}.")
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = np.where(hi > lo, margin * (hi - lo), 1.0)
    return tuple((float(a), float(b)) for a, b in zip(lo - pad, hi + pad))


def grid_axes(box, size: int = GRID_SIZE) -> tuple[Float[np.ndarray, " grid"], ...]:
    """`size` evenly spaced coordinates along each side of `box`, ends included."""
    if size < 2:
        raise ValueError(f"size={size!r} must be at least 2.")
    return tuple(np.linspace(lo, hi, size) for lo, hi in box)


def sample_points(count: int, total: int, *, seed: int = 0) -> Int[np.ndarray, " sample"]:
    """Indices of `min(count, total)` distinct points of `total`, sorted, fixed by `seed`."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(total, size=min(count, total), replace=False))


def class_probabilities(
    outputs: Float[np.ndarray, "*batch classes"],
) -> Float[np.ndarray, "*batch classes"]:
    r"""Class probabilities read from a network's outputs `(..., K)`.

    $$p_k = \frac{[\hat y_k]_0^1}{\sum_j [\hat y_j]_0^1}$$

    ($[\cdot]_0^1$ clips to $[0, 1]$): a least-squares fit to one-hot targets estimates
    $P(k \mid x)$, so its outputs clipped to $[0, 1]$ and renormalised are read as
    probabilities; uniform $1/K$ where every output is $\le 0$, NaN where one is not finite.
    """
    outputs = np.asarray(outputs, dtype=np.float32)
    clipped = np.clip(outputs, 0.0, 1.0)
    total = clipped.sum(axis=-1, keepdims=True)
    uniform = np.float32(1.0 / outputs.shape[-1])
    with np.errstate(invalid="ignore", divide="ignore"):
        probs = np.where(total > 0, clipped / np.where(total > 0, total, 1.0), uniform)
    finite = np.isfinite(outputs).all(axis=-1, keepdims=True)
    return np.where(finite, probs, np.nan).astype(np.float32)


def predicted_class(outputs: Float[np.ndarray, "*batch classes"]) -> Int[np.ndarray, "*batch"]:
    """$\\arg\\max_k \\hat y_k$ of outputs `(..., K)` as int16 (-1 where one is not finite):
    the class the accuracy counts."""
    outputs = np.asarray(outputs)
    finite = np.isfinite(outputs).all(axis=-1)
    return np.where(finite, np.argmax(np.nan_to_num(outputs), axis=-1), -1).astype(np.int16)


@jax.jit
def _outputs(model: ResidualMLP, x: Float[Array, "n input"]) -> Float[Array, "n classes"]:
    """`model(x)`, compiled."""
    return model(x)


def network_outputs(model: ResidualMLP,
                    x: Float[np.ndarray, "n input"]) -> Float[np.ndarray, "n classes"]:
    """`model(x)` on the host, `(n, D) -> (n, K)`, compiled once per model and input shape."""
    dtype = model.w_in.dtype
    return np.asarray(jax.device_get(_outputs(model, jnp.asarray(x, dtype=dtype))))


def decision_grid(models: Mapping[str, Any], x_train: Float[np.ndarray, "n 2"],
                  y_train: Int[np.ndarray, " n"], *,
                  num_classes: int, dataset: str = "", step: int = 0, size: int = GRID_SIZE,
                  sample: int = SAMPLE_POINTS, seed: int = 0) -> DecisionGrid:
    """Every rule's decision regions on a `size x size` grid over the box of `x_train`
    `(n, 2)` (`data_box`), and its predictions on `sample` training points fixed by `seed`.

    **Arguments:** `models`, rule -> a network `(B, 2) -> (B, K)` (a `ResidualMLP`);
    `x_train`, `y_train`, the training inputs and labels; keyword-only `num_classes` (`K`),
    `dataset` and `step` (recorded), `size`, `sample`, `seed`.

    One network evaluation per rule on the grid and the points together (a fixed shape, so a
    run compiles it once).
    """
    x_train = np.asarray(x_train)
    x1, x2 = grid_axes(data_box(x_train), size)
    mesh = np.stack(np.meshgrid(x1, x2), axis=-1).reshape(-1, 2)  # row-major: x2 rows
    chosen = sample_points(sample, len(x_train), seed=seed)
    points = np.asarray(x_train[chosen], dtype=np.float32)
    labels = np.asarray(y_train)[chosen].astype(np.int32)
    inputs = np.concatenate([mesh, points]).astype(np.float32)
    probabilities, predicted, point_predicted = {}, {}, {}
    for rule, model in models.items():
        out = network_outputs(model, inputs)
        grid_out = out[: len(mesh)].reshape(size, size, -1)
        probabilities[rule] = class_probabilities(grid_out)
        predicted[rule] = predicted_class(grid_out)
        point_predicted[rule] = predicted_class(out[len(mesh):])
    return DecisionGrid(dataset, int(step), x1, x2, probabilities, predicted, points, labels,
                        point_predicted, int(num_classes))


def run_models(session) -> tuple[dict[str, Any], int]:
    """A training session's current networks, rule -> model, and its step: references to
    arrays no later step changes, so they can be evaluated while the session trains on."""
    return {rule: session.model(rule) for rule in session.rules}, int(session.step_count)


def session_grid(session, models: Mapping[str, Any], step: int, **options) -> DecisionGrid | None:
    """`decision_grid` of `models` (from `run_models`) on the session's training data, or
    `None` when its inputs are not 2-D. `options`: `size`, `sample`."""
    data = session.data
    if not is_planar(data):
        return None
    return decision_grid(models, data.x_train, data.y_train, num_classes=data.num_classes,
                         dataset=data.name, step=step, seed=session.train_config.seed,
                         **options)


def credit_reach(records: Mapping[str, Any], *,
                 layers: int) -> dict[str, Int[np.ndarray, " layers"] | None]:
    """Rule -> `(layers,)` int: the inference step at which its credit reached each hidden
    layer in the latest batch (`pcviz.analysis.arrival_steps`, half of BP's adjoint norm),
    -1 where it never did, 0 for BP (its backward pass is exact in every layer); `None` for an
    inference rule with no telemetry yet (before its first step) or that has diverged.

    `records`: rule -> an object with `telemetry` and `diverged_at` (a `RuleRecord`).
    """
    out: dict[str, Int[np.ndarray, " layers"] | None] = {}
    for rule, rec in records.items():
        if rule not in INFERENCE_RULES:
            out[rule] = np.zeros(layers, dtype=np.int64)
        elif rec.telemetry is None or rec.diverged_at is not None:
            out[rule] = None
        else:
            out[rule] = arrival_steps(rec.telemetry.credit, rec.telemetry.bp_adjoint)
    return out


def boundary_csv(grid: DecisionGrid, *, run_id: str | None = None,
                 config: Mapping[str, Any] | None = None, step: int | None = None) -> str:
    """The decision regions and the points as CSV, one row per rule and location:
    `kind` (`grid` or `data`), `rule`, `x1`, `x2`, `label` (the point's class; empty on the
    grid), `predicted` (-1: not finite), then `p_0 .. p_{K-1}` (empty for points). With a
    `run_id`, a first comment line names the run (`pcviz.export.csv_header`)."""
    from .export import csv_header

    buffer = io.StringIO()
    buffer.write(csv_header(run_id, config, grid.step if step is None else step))
    writer = csv.writer(buffer, lineterminator="\n")
    classes = [f"p_{k}" for k in range(grid.num_classes)]
    writer.writerow(["kind", "rule", "x1", "x2", "label", "predicted", *classes])
    blank = [""] * grid.num_classes
    for rule, probs in grid.probabilities.items():
        pred = grid.predicted[rule]
        for i, b in enumerate(grid.x2):
            for j, a in enumerate(grid.x1):
                writer.writerow(["grid", rule, f"{a:.6g}", f"{b:.6g}", "", int(pred[i, j]),
                                 *(_number(p) for p in probs[i, j])])
        for (a, b), label, p in zip(grid.points, grid.labels, grid.point_predicted[rule]):
            writer.writerow(["data", rule, f"{a:.6g}", f"{b:.6g}", int(label), int(p), *blank])
    return buffer.getvalue()


def _number(value: float) -> str:
    return f"{value:.4g}" if np.isfinite(value) else ""


__all__ = [
    "GRID_SIZE",
    "PLANAR_DATASETS",
    "SAMPLE_POINTS",
    "DecisionGrid",
    "boundary_csv",
    "class_probabilities",
    "credit_reach",
    "data_box",
    "decision_grid",
    "grid_axes",
    "is_planar",
    "network_outputs",
    "predicted_class",
    "run_models",
    "sample_points",
    "session_grid",
]
