r"""What the captions say about their figures, computed from the data the figures show.

Every caption sentence that states a fact about a figure (which rule is higher, where a
minimum lies, which way a curve goes, how far the credit got) is either written from one of
these functions, on the same arrays the figure draws, or checked against one by the tests on
the defaults and every lecture preset; so a caption cannot silently go wrong when the
defaults change. Pure numpy on host arrays; the words are the pages' (`pcviz.ui`).

Conventions: a per-layer array of the live lab's gradient comparison is `(L + 1,)`, weight
layers 1..L (input weights first, the readout last), then the whole gradient
(`Session.gradient_comparison`); telemetry is `(steps, L-1)`, column 0 next to the input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from .analysis import credit_front, diffusion_reach, fit_front, fit_front_speed, front_speed

__all__ = [
    "SMALL_RATIO",
    "FrontReading",
    "FrontSummary",
    "GradientSummary",
    "Trend",
    "aligned_but_small",
    "alignment_trends",
    "energy_trends",
    "front_readings",
    "front_summary",
    "gradient_summary",
    "higher_in_every_layer",
    "lowest_layer",
    "region",
    "trend",
]

SMALL_RATIO = 0.1
"""A layer's weight gradient is "small" below this fraction of BP's (`GradientSummary`)."""


def region(index: int, count: int) -> str:
    """Which third of `count` layers the 0-based `index` lies in: `"input"` (the third next
    to the input), `"middle"` or `"output"`."""
    if not 0 <= index < count:
        raise ValueError(f"index={index!r} must be in 0..{count - 1}.")
    return ("input", "middle", "output")[min(2, 3 * index // count)]


def lowest_layer(values) -> int:
    """The 1-based layer of the smallest finite value of a per-layer array (NaN skipped);
    `ValueError` when none is finite."""
    arr = np.asarray(values, dtype=np.float64).ravel()
    if not np.isfinite(arr).any():
        raise ValueError("no finite value: the rule diverged.")
    return int(np.nanargmin(np.where(np.isfinite(arr), arr, np.nan))) + 1


def higher_in_every_layer(a, b) -> bool:
    """Whether per-layer array `a` is above `b` in every layer where both are finite (and
    there is at least one)."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    both = np.isfinite(a) & np.isfinite(b)
    return bool(both.any() and np.all(a[both] > b[both]))


class Trend(NamedTuple):
    """Which way a curve went from its `first` to its `last` finite value: `direction` is
    `"rises"`, `"falls"` or `"stays level"` (within the tolerance)."""

    direction: str
    first: float
    last: float


def trend(series, *, tolerance: float = 0.01) -> Trend:
    r"""The direction of a curve, last finite value against the first:

    $$\text{rises if } y_{\text{last}} > (1 + \tau)\,y_{\text{first}}, \quad
      \text{falls if } y_{\text{last}} < (1 - \tau)\,y_{\text{first}}$$

    (relative to $|y_{\text{first}}|$; `tolerance` is $\tau$). NaN values are skipped;
    `ValueError` when none is finite.
    """
    arr = np.asarray(series, dtype=np.float64).ravel()
    good = arr[np.isfinite(arr)]
    if good.size == 0:
        raise ValueError("no finite value: the rule diverged.")
    first, last = float(good[0]), float(good[-1])
    margin = tolerance * abs(first)
    direction = ("rises" if last > first + margin else "falls" if last < first - margin
                 else "stays level")
    return Trend(direction, first, last)


def energy_trends(energies: Mapping[str, np.ndarray]) -> dict[str, Trend]:
    """Per rule, the `trend` of the total energy during inference: the row sums of
    `Telemetry.energy` `(T, L)`, the solid line of `pcviz.figures.energy_plot`. Rules with
    no finite value are left out."""
    out = {}
    for rule, energy in energies.items():
        total = np.asarray(energy, dtype=np.float64).sum(axis=1)
        if np.isfinite(total).any():
            out[rule] = trend(total)
    return out


def alignment_trends(alignments: Mapping[str, np.ndarray]) -> dict[str, Trend]:
    """Per rule, the `trend` of the credit's cosine to BP's adjoint averaged over layers (the
    solid line of `pcviz.figures.alignment_vs_step`) from `Telemetry.alignment`."""
    out = {}
    for rule, cos in alignments.items():
        arr = np.asarray(cos, dtype=np.float64)
        good = np.isfinite(arr)
        count = good.sum(axis=1)
        mean = np.where(count > 0, np.where(good, arr, 0.0).sum(axis=1) / np.maximum(count, 1),
                        np.nan)
        if np.isfinite(mean).any():
            out[rule] = trend(mean)
    return out


class GradientSummary(NamedTuple):
    """One rule's weight gradient against BP's over the weight layers (the overall entry
    left out): the range of the cosine (`cosine_low`, `cosine_high`) and of the norm ratio
    (`ratio_low`, `ratio_high`), the `layers` counted, how many are `small` (norm ratio
    below `SMALL_RATIO`), the 1-based layers of the lowest cosine and smallest ratio, and
    the `region` of the lowest cosine."""

    cosine_low: float
    cosine_high: float
    ratio_low: float
    ratio_high: float
    layers: int
    small: int
    lowest_cosine_layer: int
    smallest_ratio_layer: int
    lowest_cosine_region: str


def gradient_summary(cosine, norm_ratio) -> GradientSummary:
    """`GradientSummary` of one rule from its `(L + 1,)` cosines and norm ratios (the two
    panels of `pcviz.figures.layer_alignment`); `ValueError` for a diverged rule."""
    cos = np.asarray(cosine, dtype=np.float64).ravel()[:-1]
    ratio = np.asarray(norm_ratio, dtype=np.float64).ravel()[:-1]
    low = lowest_layer(cos)
    return GradientSummary(
        float(np.nanmin(cos)), float(np.nanmax(cos)), float(np.nanmin(ratio)),
        float(np.nanmax(ratio)), int(cos.size), int(np.sum(ratio < SMALL_RATIO)), low,
        lowest_layer(ratio), region(low - 1, cos.size),
    )


def aligned_but_small(cosine, norm_ratio, *, cosine_above: float = 0.9,
                      ratio_below: float = 1e-3) -> int:
    """How many weight layers point BP's way (cosine above `cosine_above`) with a gradient
    more than a thousand times smaller (norm ratio below `ratio_below`): the layers a
    cosine alone makes look learned. Arrays `(L + 1,)` as in `gradient_summary`."""
    cos = np.asarray(cosine, dtype=np.float64).ravel()[:-1]
    ratio = np.asarray(norm_ratio, dtype=np.float64).ravel()[:-1]
    return int(np.sum((cos > cosine_above) & (ratio < ratio_below)))


class FrontSummary(NamedTuple):
    """How one rule's credit front travelled in a whole inference run: `reached` of `total`
    hidden layers, the log-log `slope` of arrival against distance (1 wave, 2 heat; NaN
    below three layers), its `straightness` ($R^2$ of that fit), the fitted `speed` (layers
    per step), the step `input_step` at which the layer next to the input was reached (-1:
    never), and `kind`: `"wave"` or `"heat"` by the nearer slope, `"too few layers"`."""

    reached: int
    total: int
    slope: float
    straightness: float
    speed: float
    input_step: int
    kind: str


def front_summary(arrival) -> FrontSummary:
    """`FrontSummary` of `(L-1,)` arrival steps (`pcviz.analysis.arrival_steps`; -1 =
    never), the points of `pcviz.figures.arrival_plot`."""
    arrival = np.asarray(arrival).astype(np.int64).ravel()
    fit = fit_front(arrival)
    kind = ("too few layers" if not np.isfinite(fit.slope)
            else "wave" if abs(fit.slope - 1.0) < abs(fit.slope - 2.0) else "heat")
    return FrontSummary(int(np.sum(arrival >= 1)), int(arrival.size), float(fit.slope),
                        float(fit.r2), fit_front_speed(arrival), int(arrival[0]), kind)


class FrontReading(NamedTuple):
    r"""One rule's credit front read at inference step $t$ (the credit page's metrics row,
    `python -m pcviz credit`): `reached` of `total` hidden layers by step $t$, the log-log
    front `slope` and the fitted `speed` in layers per step (`pcviz.analysis.credit_front`),
    the wave theory's speed $c = \sqrt{\alpha\eta_h}$ (`theory_speed`, NaN for PC or
    $\alpha = 0$), `speed_ratio` = `speed` / $c$, and the heat reach
    $\sqrt{\rho\eta_h t}$ (`heat_reach`, layers)."""

    step: int
    reached: int
    total: int
    slope: float
    speed: float
    theory_speed: float
    speed_ratio: float
    heat_reach: float


def front_readings(arrivals: Mapping[str, np.ndarray], *, step: int, eta: float, rho: float,
                   alpha: float) -> dict[str, FrontReading]:
    r"""Per rule, its `FrontReading` at inference step `step` from its `(L-1,)` arrival
    steps (-1 = never), with the probe's step sizes $\eta_h$, $\rho$, $\alpha$:

    $$c = \sqrt{\alpha\,\eta_h}\ \ (\text{PC-ALM, } \alpha > 0), \qquad
      \text{reach}(t) = \sqrt{\rho\,\eta_h\,t}$$
    """
    out = {}
    for rule, arrival in arrivals.items():
        front = credit_front(arrival, step=step)
        wave = rule == "pcalm" and alpha > 0
        theory = front_speed(alpha, eta) if wave else float("nan")
        ratio = front.speed / theory if wave and np.isfinite(front.speed) else float("nan")
        out[rule] = FrontReading(int(step), front.reached, front.total, float(front.slope),
                                 float(front.speed), float(theory), float(ratio),
                                 float(diffusion_reach(eta, rho, step)))
    return out
