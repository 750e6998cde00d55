r"""Measurements on inference telemetry: credit arrival times, front fits, cosines.

Pure numpy on host arrays (the telemetry of `pcviz.weight_grads`). Conventions: `credit` is
`(steps, L-1)`, row `t` the state after inference step `t+1`, column 0 the hidden layer
nearest the input and column `L-2` the one nearest the output; `bp_adjoint` is `(L-1,)`.

PC-ALM's credit travels as a wave at about $\sqrt{\alpha\eta_h}$ layers per step, PC's spreads
like heat over $\sqrt{\rho\eta_h t}$ layers (Seely & Gould, *Augmented Lagrangian Predictive
Coding*, 2026; Innocenti et al., *muPC*, 2025).

The credit page reads a probe through `credit_front` (layers reached by a step, the front's
log-log slope and its fitted speed), `profile_frames` (the credit profile at the animation's
steps) and `diverged_rules`; `merge_probes` joins per-rule probes of a live run.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import numpy as np
from jaxtyping import Float, Int

__all__ = [
    "CreditFront",
    "FrontFit",
    "ProfileFrames",
    "arrival_steps",
    "cosine",
    "credit_front",
    "diffusion_reach",
    "distance_from_output",
    "diverged_rules",
    "fit_front",
    "fit_front_speed",
    "frame_steps",
    "front_speed",
    "merge_probes",
    "predicted_arrival",
    "profile_frames",
    "tree_cosine",
]

_MIN_FIT_POINTS = 3


def arrival_steps(
    credit: Float[np.ndarray, "steps layers"],
    bp_adjoint: Float[np.ndarray, " layers"],
    *,
    fraction: float = 0.5,
) -> Int[np.ndarray, " layers"]:
    r"""First inference step at which each layer's credit reaches a fraction of its BP adjoint.

    $$t_i = 1 + \min\{t : \mathrm{credit}_{t,i} \ge f\,\|\delta_i\|\}$$

    **Arguments:**

    - `credit`: `(steps, L-1)` credit norms; row `t` is the state after step `t+1`.
    - `bp_adjoint`: `(L-1,)` norms of the BP adjoints $\|\delta_i\|$.
    - `fraction`: keyword-only, the threshold $f > 0$ (default 0.5, half the BP norm).

    **Returns:**

    `(L-1,)` int array of 1-based steps; `-1` where the threshold is never reached, or
    where $\|\delta_i\|$ is zero or not finite (no reference to reach).
    """
    credit = np.asarray(credit, dtype=np.float64)
    bp_adjoint = np.asarray(bp_adjoint, dtype=np.float64)
    if credit.ndim != 2 or bp_adjoint.shape != credit.shape[1:]:
        raise ValueError(
            f"credit must be (steps, L-1) and bp_adjoint (L-1,); got credit.shape="
            f"{credit.shape} and bp_adjoint.shape={bp_adjoint.shape}."
        )
    if not fraction > 0:
        raise ValueError(f"fraction={fraction!r} must be positive.")
    valid = np.isfinite(bp_adjoint) & (bp_adjoint > 0)
    reached = (credit >= fraction * bp_adjoint) & valid
    first = np.argmax(reached, axis=0) + 1
    return np.where(reached.any(axis=0), first, -1).astype(np.int64)


def distance_from_output(num_layers: int) -> Int[np.ndarray, " layers"]:
    r"""Distance of each hidden layer from the output, in layers.

    $$d_i = L - 1 - i, \qquad i = 0, \dots, L-2$$

    **Arguments:**

    - `num_layers`: the depth $L$ (number of weight layers), at least 2.

    **Returns:**

    `(L-1,)` int array `[L-1, ..., 1]`: the top hidden layer has distance 1.
    """
    if num_layers < 2:
        raise ValueError(f"num_layers={num_layers!r} must be at least 2.")
    return np.arange(num_layers - 1, 0, -1, dtype=np.int64)


class FrontFit(NamedTuple):
    r"""Power-law fit of arrival step against distance from the output.

    **Fields:**

    - `slope`: exponent $p$ in $t \propto d^p$ (1 for a wave, 2 for diffusion); NaN if unfit.
    - `intercept`: $\log$ of the prefactor; NaN if unfit.
    - `r2`: coefficient of determination of the log-log fit; NaN if unfit.
    - `num_layers_reached`: number of layers with an arrival step.
    - `fraction_reached`: that number over the number of hidden layers, in `[0, 1]`.
    """

    slope: float
    intercept: float
    r2: float
    num_layers_reached: int
    fraction_reached: float


def fit_front(arrival: Int[np.ndarray, " layers"]) -> FrontFit:
    r"""Least-squares fit of the credit front in log-log coordinates.

    $$\log t_i = p \log d_i + c, \qquad d_i = L - 1 - i$$

    over the layers reached ($t_i \ge 1$); a wave has $p = 1$, diffusion $p = 2$.

    **Arguments:**

    - `arrival`: `(L-1,)` arrival steps from `arrival_steps` (`-1` = never reached).

    **Returns:**

    A `FrontFit`; slope, intercept and r2 are NaN when fewer than 3 layers are reached.
    """
    arrival = np.asarray(arrival)
    if arrival.ndim != 1:
        raise ValueError(f"arrival must be (L-1,); got shape {arrival.shape}.")
    n = arrival.shape[0]
    reached = arrival >= 1
    count = int(reached.sum())
    frac = count / n if n else 0.0
    if count < _MIN_FIT_POINTS:
        return FrontFit(float("nan"), float("nan"), float("nan"), count, frac)
    x = np.log(distance_from_output(n + 1)[reached].astype(np.float64))
    y = np.log(arrival[reached].astype(np.float64))
    slope, intercept = np.polyfit(x, y, 1)
    ss_res = float(np.sum((y - (slope * x + intercept)) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0
    return FrontFit(float(slope), float(intercept), r2, count, frac)


def front_speed(alpha: float, eta: float) -> float:
    r"""Theoretical speed of PC-ALM's credit wave, in layers per inference step.

    $$c = \sqrt{\alpha\,\eta_h}$$

    **Arguments:**

    - `alpha`: dual step size $\alpha$ (`RuleConfig.alpha`).
    - `eta`: activity step size $\eta_h$ (`RuleConfig.eta`).

    **Returns:**

    The speed $c$ as a float (0 for PC, $\alpha = 0$).
    """
    return float(np.sqrt(alpha * eta))


def predicted_arrival(
    distance: Float[np.ndarray, " layers"], alpha: float, eta: float
) -> Float[np.ndarray, " layers"]:
    r"""Arrival step predicted by the wave theory for each distance from the output.

    $$t(d) = d / \sqrt{\alpha\,\eta_h}$$

    **Arguments:**

    - `distance`: `(L-1,)` distances from the output (`distance_from_output`).
    - `alpha`: dual step size $\alpha$, positive.
    - `eta`: activity step size $\eta_h$, positive.

    **Returns:**

    `(L-1,)` float array of predicted steps.
    """
    speed = front_speed(alpha, eta)
    if not speed > 0:
        raise ValueError(f"alpha={alpha!r} and eta={eta!r} must both be positive.")
    return np.asarray(distance, dtype=np.float64) / speed


def diffusion_reach(eta: float, rho: float, steps: float) -> float:
    r"""Number of layers that PC's heat-like credit reaches after some steps.

    $$d(t) = \sqrt{\rho\,\eta_h\,t}$$

    **Arguments:**

    - `eta`: activity step size $\eta_h$.
    - `rho`: penalty $\rho$.
    - `steps`: number of inference steps $t$.

    **Returns:**

    The reach $d(t)$ in layers, as a float.
    """
    return float(np.sqrt(rho * eta * steps))


def cosine(a: Any, b: Any) -> float:
    r"""Cosine similarity of two arrays of the same size, flattened.

    $$\cos(a, b) = \frac{a \cdot b}{\|a\|\,\|b\|}$$

    **Arguments:**

    - `a`, `b`: array-likes with the same number of elements (any shapes).

    **Returns:**

    The cosine as a float; 0.0 when either norm is 0.
    """
    a = np.ravel(np.asarray(a, dtype=np.float64))
    b = np.ravel(np.asarray(b, dtype=np.float64))
    if a.size != b.size:
        raise ValueError(f"a and b must have the same size; got {a.size} and {b.size}.")
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm > 0 else 0.0


def _is_array(x: Any) -> bool:
    return isinstance(x, (np.ndarray, np.generic, jax.Array, float, int)) and not isinstance(
        x, bool
    )


def _is_none(x: Any) -> bool:
    """A `None` leaf (a missing gradient), kept as a leaf so that both trees line up."""
    return x is None


def tree_cosine(tree_a: Any, tree_b: Any) -> float:
    r"""Cosine similarity of two pytrees, all array leaves concatenated.

    $$\cos(A, B) = \frac{\sum_\ell a_\ell \cdot b_\ell}
      {\sqrt{\sum_\ell \|a_\ell\|^2}\,\sqrt{\sum_\ell \|b_\ell\|^2}}$$

    **Arguments:**

    - `tree_a`, `tree_b`: pytrees of the same structure (e.g. two gradient pytrees of a
      model); leaf pairs where either side is `None` or not an array are skipped.

    **Returns:**

    The overall cosine as a float; 0.0 when either tree has zero norm.
    """
    leaves_a = jax.tree_util.tree_leaves(tree_a, is_leaf=_is_none)
    leaves_b = jax.tree_util.tree_leaves(tree_b, is_leaf=_is_none)
    if len(leaves_a) != len(leaves_b):
        raise ValueError(
            f"tree_a and tree_b must have the same structure; got {len(leaves_a)} and "
            f"{len(leaves_b)} leaves."
        )
    pairs = [(a, b) for a, b in zip(leaves_a, leaves_b) if _is_array(a) and _is_array(b)]
    if not pairs:
        return 0.0
    flat_a = np.concatenate([np.ravel(np.asarray(a, dtype=np.float64)) for a, _ in pairs])
    flat_b = np.concatenate([np.ravel(np.asarray(b, dtype=np.float64)) for _, b in pairs])
    return cosine(flat_a, flat_b)


def fit_front_speed(arrival: Int[np.ndarray, " layers"]) -> float:
    r"""Measured speed of the credit front, in layers per inference step: the least-squares
    slope $c$ of distance against arrival step over the layers reached,

    $$d_i \approx c\, t_i + b, \qquad d_i = L - 1 - i.$$

    **Arguments:**

    - `arrival`: `(L-1,)` arrival steps from `arrival_steps` (`-1` = never reached).

    **Returns:**

    $c$ as a float; NaN when fewer than 3 layers are reached or they all arrive at once.
    """
    arrival = np.asarray(arrival)
    reached = arrival >= 1
    if reached.sum() < _MIN_FIT_POINTS or np.ptp(arrival[reached]) == 0:
        return float("nan")
    d = distance_from_output(arrival.size + 1)[reached]
    return float(np.polyfit(arrival[reached].astype(np.float64), d, 1)[0])


class CreditFront(NamedTuple):
    """How far and how fast a rule's credit travelled: `reached` of `total` hidden layers by
    the step asked for, the log-log front `slope` (`fit_front`) and the fitted `speed`
    (`fit_front_speed`, layers per step)."""

    reached: int
    total: int
    slope: float
    speed: float


def credit_front(arrival: Int[np.ndarray, " layers"], *, step: int) -> CreditFront:
    r"""The front of one inference run read at inference step `step`.

    $$\text{reached}(t) = \#\{i : 1 \le t_i \le t\}$$

    **Arguments:**

    - `arrival`: `(L-1,)` arrival steps (`-1` = never reached).
    - `step`: keyword-only 1-based inference step $t$.

    **Returns:**

    A `CreditFront` (slope and speed use every layer reached by the end of the run).
    """
    arrival = np.asarray(arrival)
    reached = int(((arrival >= 1) & (arrival <= step)).sum())
    return CreditFront(reached, int(arrival.size), fit_front(arrival).slope,
                       fit_front_speed(arrival))


def frame_steps(steps: int, *, max_frames: int = 100) -> Int[np.ndarray, " frames"]:
    """At most `max_frames` 1-based inference steps spread evenly over `1..steps` (the first
    and last included), for an animation."""
    if steps < 1 or max_frames < 1:
        raise ValueError(f"steps={steps!r} and max_frames={max_frames!r} must be at least 1.")
    return np.unique(np.linspace(1, steps, min(steps, max_frames)).round().astype(np.int64))


class ProfileFrames(NamedTuple):
    """The credit profile at the animation's steps.

    **Fields:** `steps` `(F,)` 1-based inference steps; per rule `credit` `(F, L-1)` and
    `reached` `(F, L-1)` (credit at least `fraction` of BP's adjoint); `top`, a common upper
    limit of the credit axis (finite values and the adjoint, plus 5 %).
    """

    steps: np.ndarray
    credit: dict[str, np.ndarray]
    reached: dict[str, np.ndarray]
    top: float


def profile_frames(
    credit: dict[str, Float[np.ndarray, "steps layers"]],
    bp_adjoint: Float[np.ndarray, " layers"],
    *,
    max_frames: int = 100,
    fraction: float = 0.5,
) -> ProfileFrames:
    r"""The rows of each rule's credit at `frame_steps`, and which layers have arrived,
    $\mathrm{credit}_{t,i} \ge f\|\delta_i\|$.

    **Arguments:**

    - `credit`: rule -> `(T, L-1)` credit norms (`Telemetry.credit`), same `T` for all.
    - `bp_adjoint`: `(L-1,)` BP adjoint norms.
    - `max_frames`, `fraction`: keyword-only, as in `frame_steps` and `arrival_steps`.

    **Returns:**

    A `ProfileFrames`.
    """
    total = next(iter(credit.values())).shape[0]
    steps = frame_steps(total, max_frames=max_frames)
    adjoint = np.asarray(bp_adjoint, dtype=np.float64)
    rows = {r: np.asarray(a, dtype=np.float64)[steps - 1] for r, a in credit.items()}
    reached = {r: a >= fraction * adjoint for r, a in rows.items()}
    finite = [float(np.nanmax(a[np.isfinite(a)])) for a in credit.values()
              if np.isfinite(a).any()]
    scale = max(finite or [1.0])
    if np.isfinite(adjoint).any():
        scale = max(scale, float(np.nanmax(adjoint[np.isfinite(adjoint)])))
    return ProfileFrames(steps, rows, reached, 1.05 * scale)


def diverged_rules(credit: dict[str, Float[np.ndarray, "steps layers"]]) -> list[str]:
    """The rules (in order) whose credit has no finite value left at the last inference step:
    their inference blew up."""
    return [r for r, a in credit.items() if not np.isfinite(np.asarray(a)[-1]).any()]


def merge_probes(parts: list) -> Any:
    """One probe of several rules from per-rule probes of the same weights and batch (e.g. a
    live run's `LiveRunClient.probe`): the first part's `eta` and `steps`, every part's
    `telemetry`, `arrivals` and `fits` (a `pcviz.runs.ProbeResult`)."""
    if not parts:
        raise ValueError("no probes to merge.")
    merged = {f: {k: v for p in parts for k, v in getattr(p, f).items()}
              for f in ("telemetry", "arrivals", "fits")}
    return parts[0]._replace(**merged)
