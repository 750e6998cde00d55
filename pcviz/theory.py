r"""Linear theory of the joint (h, lambda) iteration of PC-ALM, one singular mode at a time.

For linear constraints $r = A h - b$ one inference step of PC-ALM is

$$h' = h - \eta_h A^\top(\lambda + \rho r), \qquad \lambda' = \lambda + \alpha\, r(h'),$$

so $r' = (I - \eta_h\rho AA^\top) r - \eta_h AA^\top\lambda$. On a left singular vector of $A$
with singular value $\sigma$ ($s = \sigma^2$) the pair $(r, \lambda)$ evolves by the 2x2 map

$$M(\sigma) = \begin{pmatrix} 1 - \eta_h\rho s & -\eta_h s \\
  \alpha(1 - \eta_h\rho s) & 1 - \alpha\eta_h s \end{pmatrix},
  \qquad \det M = 1 - \eta_h\rho s, \quad \operatorname{tr} M = 2 - \eta_h s(\rho + \alpha).$$

Complex eigenvalues have modulus $\sqrt{1 - \eta_h\rho s}$: $\alpha$ only rotates them. The
iteration is stable iff $\eta_h s(2\rho + \alpha) < 4$ and $\eta_h\rho s < 2$. $\alpha = 0$ is PC,
whose residual decays by $1 - \eta_h\rho s$ per step ($\lambda$ stays 0). See Seely & Gould,
*Augmented Lagrangian Predictive Coding* (2026).

The same theory read at one configuration (`theory_point`, `stability_grid`,
`chain_eigenvalues`, `dispersion_pair`) draws the linear theory page; the float64 exactness
experiment (`exactness_point`, one task per number of steps $T$ on the run service, gathered by
`gather_exactness`; in `pcviz._exactness`, re-exported here) checks in a real linear net that
PC-ALM's weight gradient reaches BP's.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from jaxtyping import Bool, Complex, Float

from ._exactness import (
    EXACTNESS_NET,
    EXACTNESS_RULES,
    Exactness,
    ExactnessPoint,
    exactness,
    exactness_csv,
    exactness_json,
    exactness_point,
    exactness_steps,
    gather_exactness,
    submit_exactness,
)

__all__ = [
    "EXACTNESS_NET",
    "EXACTNESS_RULES",
    "Dispersion",
    "Exactness",
    "ExactnessPoint",
    "TheoryPoint",
    "chain_eigenvalues",
    "chain_singular_values",
    "dispersion",
    "dispersion_pair",
    "eigenvalues_csv",
    "exactness",
    "exactness_csv",
    "exactness_json",
    "exactness_point",
    "exactness_steps",
    "gather_exactness",
    "is_stable",
    "mode_matrix",
    "spectral_radius",
    "stability_grid",
    "stability_region",
    "submit_exactness",
    "theory_point",
    "transient_eigenvalues",
]

Hyper = float | np.ndarray


def _check(eta: Hyper, rho: Hyper, alpha: Hyper) -> None:
    if not np.all(np.asarray(eta) > 0):
        raise ValueError(f"eta={eta!r} must be positive.")
    if not np.all(np.asarray(rho) > 0):
        raise ValueError(f"rho={rho!r} must be positive.")
    if not np.all(np.asarray(alpha) >= 0):
        raise ValueError(f"alpha={alpha!r} must be non-negative (0 is PC).")


def _trace_det(sigma, eta, rho, alpha) -> tuple[np.ndarray, np.ndarray]:
    _check(eta, rho, alpha)
    s2 = np.square(np.asarray(sigma, dtype=np.float64))
    return 2.0 - eta * s2 * (rho + alpha), 1.0 - eta * rho * s2


def mode_matrix(
    sigma: Float[np.ndarray, "*modes"], *, eta: Hyper, rho: Hyper, alpha: Hyper
) -> Float[np.ndarray, "*modes 2 2"]:
    r"""One PC-ALM inference step projected on singular modes of the constraint Jacobian.

    $$\begin{pmatrix} r \\ \lambda \end{pmatrix} \mapsto
      \begin{pmatrix} 1 - \eta\rho\sigma^2 & -\eta\sigma^2 \\
      \alpha(1 - \eta\rho\sigma^2) & 1 - \alpha\eta\sigma^2 \end{pmatrix}
      \begin{pmatrix} r \\ \lambda \end{pmatrix}$$

    **Arguments:**

    - `sigma`: singular values $\sigma$, any shape `(*modes)`.
    - `eta`, `rho`, `alpha`: keyword-only $\eta_h > 0$, $\rho > 0$, $\alpha \ge 0$; scalars
      or arrays broadcasting against `sigma`.

    **Returns:**

    `(*modes, 2, 2)` float64 array acting on `(r, lambda)`.
    """
    _check(eta, rho, alpha)
    s2 = np.square(np.asarray(sigma, dtype=np.float64))
    s2, eta, rho, alpha = np.broadcast_arrays(s2, eta, rho, alpha)
    keep = 1.0 - eta * rho * s2
    top = np.stack([keep, -eta * s2], axis=-1)
    bottom = np.stack([alpha * keep, 1.0 - alpha * eta * s2], axis=-1)
    return np.stack([top, bottom], axis=-2)


def transient_eigenvalues(
    sigmas: Float[np.ndarray, "*modes"], *, eta: Hyper, rho: Hyper, alpha: Hyper
) -> Complex[np.ndarray, "*modes 2"]:
    r"""Both eigenvalues of the mode matrix $M(\sigma)$ for each singular value.

    $$\mu_\pm = \tfrac{1}{2}\operatorname{tr} M \pm
      \sqrt{\tfrac{1}{4}(\operatorname{tr} M)^2 - \det M}$$

    **Arguments:**

    - `sigmas`: singular values, shape `(*modes)` (typically `(n,)`).
    - `eta`, `rho`, `alpha`: keyword-only, as in `mode_matrix`.

    **Returns:**

    `(*modes, 2)` complex array: column 0 is $\mu_+$ (non-negative imaginary part), column 1
    is $\mu_-$. For $\alpha = 0$ these are $1$ (the idle multiplier) and $1 - \eta\rho\sigma^2$.
    """
    tr, det = _trace_det(sigmas, eta, rho, alpha)
    root = np.sqrt((0.25 * tr**2 - det).astype(np.complex128))
    return np.stack([0.5 * tr + root, 0.5 * tr - root], axis=-1)


def spectral_radius(
    sigma: Float[np.ndarray, "*modes"], *, eta: Hyper, rho: Hyper, alpha: Hyper
) -> Float[np.ndarray, "*modes"]:
    r"""Per-step contraction factor of each mode: the largest eigenvalue modulus.

    $$\varrho(\sigma) = \max |\mu_\pm(\sigma)|, \qquad
      \varrho_{\mathrm{PC}}(\sigma) = |1 - \eta\rho\sigma^2|$$

    For PC ($\alpha = 0$) the multiplier stays 0, so only the residual eigenvalue counts.

    **Arguments:**

    - `sigma`: singular values, shape `(*modes)` (a float for one mode).
    - `eta`, `rho`, `alpha`: keyword-only, as in `mode_matrix`.

    **Returns:**

    `(*modes)` float array (broadcast with the hyperparameters); below 1 means the mode decays.
    """
    mu = np.abs(transient_eigenvalues(sigma, eta=eta, rho=rho, alpha=alpha)).max(axis=-1)
    s2 = np.square(np.asarray(sigma, dtype=np.float64))
    pc = np.abs(1.0 - eta * rho * s2)
    return np.where(np.asarray(alpha) == 0, pc, mu)


def is_stable(
    sigma: float | Float[np.ndarray, "*modes"], *, eta: Hyper, rho: Hyper, alpha: Hyper
) -> Bool[np.ndarray, "*modes"]:
    r"""Whether the joint (h, lambda) iteration contracts on each mode.

    $$\eta\sigma^2(2\rho + \alpha) < 4 \quad\text{and}\quad \eta\rho\sigma^2 < 2$$

    **Arguments:**

    - `sigma`: singular values, shape `(*modes)`.
    - `eta`, `rho`, `alpha`: keyword-only, as in `mode_matrix`.

    **Returns:**

    `(*modes)` bool array (broadcast with the hyperparameters).
    """
    _check(eta, rho, alpha)
    s2 = np.square(np.asarray(sigma, dtype=np.float64))
    return (eta * s2 * (2.0 * rho + alpha) < 4.0) & (eta * rho * s2 < 2.0)


def stability_region(
    etas: Float[np.ndarray, " etas"],
    alphas: Float[np.ndarray, " alphas"],
    *,
    rho: float,
    sigma_max: float,
) -> Bool[np.ndarray, "alphas etas"]:
    r"""Grid of step sizes for which every mode up to $\sigma_{\max}$ is stable.

    $$\eta\,\sigma_{\max}^2(2\rho + \alpha) < 4 \quad\text{and}\quad
      \eta\rho\sigma_{\max}^2 < 2$$

    Both conditions tighten with $\sigma$, so the largest singular value is the worst mode.

    **Arguments:**

    - `etas`: `(n_eta,)` activity step sizes $\eta_h$.
    - `alphas`: `(n_alpha,)` dual step sizes $\alpha$.
    - `rho`: keyword-only penalty $\rho$.
    - `sigma_max`: keyword-only largest singular value of the constraint Jacobian.

    **Returns:**

    `(n_alpha, n_eta)` bool array: rows follow `alphas`, columns follow `etas`.
    """
    etas = np.asarray(etas, dtype=np.float64)[None, :]
    alphas = np.asarray(alphas, dtype=np.float64)[:, None]
    return is_stable(sigma_max, eta=etas, rho=rho, alpha=alphas)


def chain_singular_values(num_layers: int) -> Float[np.ndarray, " layers"]:
    r"""Singular values of the constraint Jacobian of a residual chain with identity layers.

    With $r_i = h_i - h_{i-1}$ the Jacobian is the $(L-1)\times(L-1)$ lower-bidiagonal
    $A = I - S$; $AA^\top$ is the path Laplacian with one free end, so with $n = L - 1$

    $$\sigma_k = 2\sin\frac{(2k - 1)\pi}{2(2n + 1)}, \qquad k = 1, \dots, n.$$

    **Arguments:**

    - `num_layers`: the depth $L$, at least 2.

    **Returns:**

    `(L-1,)` float array, largest first (as `numpy.linalg.svd`); $\sigma_1 \to 2$ with depth,
    hence $\eta_h = 1/\sigma_1^2 \to 1/4$.
    """
    if num_layers < 2:
        raise ValueError(f"num_layers={num_layers!r} must be at least 2.")
    n = num_layers - 1
    k = np.arange(n, 0, -1)
    return 2.0 * np.sin((2 * k - 1) * np.pi / (2 * (2 * n + 1)))


class Dispersion(NamedTuple):
    r"""Per-step phase and decay of chain modes, by wavenumber.

    **Fields:**

    - `wavenumber`: `(n,)` wavenumbers $k$ in radians per layer.
    - `phase_per_step`: `(n,)` $|\arg\mu(k)|$; the phase speed is `phase_per_step / wavenumber`.
    - `decay_per_step`: `(n,)` $-\\log|\\mu(k)|$ of the slowest mode.
    """

    wavenumber: np.ndarray
    phase_per_step: np.ndarray
    decay_per_step: np.ndarray


def dispersion(
    wavenumbers: Float[np.ndarray, " n"], *, eta: float, rho: float, alpha: float
) -> Dispersion:
    r"""Dispersion relation of the inference iteration on a long residual chain.

    $$\sigma^2(k) = 4\sin^2(k/2), \qquad \mu(k) = \text{slowest eigenvalue of } M(\sigma(k))$$

    PC-ALM is a wave: $\arg\mu / k \to \sqrt{\alpha\eta}$ as $k \to 0$. PC ($\alpha = 0$) is heat:
    $\mu = 1 - \eta\rho\sigma^2$, no phase, decay $\approx \eta\rho k^2$.

    **Arguments:**

    - `wavenumbers`: `(n,)` wavenumbers $k$ in $(0, \pi]$.
    - `eta`, `rho`, `alpha`: keyword-only scalars $\eta_h$, $\rho$, $\alpha$.

    **Returns:**

    A `Dispersion` of three `(n,)` arrays.
    """
    k = np.asarray(wavenumbers, dtype=np.float64)
    sigma = 2.0 * np.abs(np.sin(0.5 * k))
    if alpha == 0:
        _check(eta, rho, alpha)
        mu = (1.0 - eta * rho * sigma**2).astype(np.complex128)
    else:
        both = transient_eigenvalues(sigma, eta=eta, rho=rho, alpha=alpha)
        slow = np.argmax(np.abs(both), axis=-1)
        mu = np.take_along_axis(both, slow[..., None], axis=-1)[..., 0]
    with np.errstate(divide="ignore"):
        decay = -np.log(np.abs(mu))
    return Dispersion(k, np.abs(np.angle(mu)), decay)


# ------------------------------------------------------------------ one configuration's theory


class TheoryPoint(NamedTuple):
    r"""A configuration's place in the mode theory.

    **Fields:** `eta`, `rho`, `alpha` ($\eta_h$ is $1/\sigma_{\max}^2$ when the configuration
    says auto, then `eta_auto` is True) and `sigma_max`, the worst singular value.
    """

    eta: float
    rho: float
    alpha: float
    sigma_max: float
    eta_auto: bool


def theory_point(
    depth: int, *, eta: float | str, rho: float, alpha: float, sigma: str = "chain"
) -> TheoryPoint:
    r"""The step sizes and worst mode of a configuration.

    $$\sigma_{\max} = \sigma_1(\text{identity residual chain of depth } L)\ \ (\texttt{chain})
      \quad\text{or}\quad 2\ \ (\texttt{limit}), \qquad \eta_h^{\text{auto}} = 1/\sigma_{\max}^2$$

    **Arguments:**

    - `depth`: the depth $L$ (at least 2).
    - `eta`, `rho`, `alpha`: keyword-only; `eta` is a number or `"auto"`.
    - `sigma`: keyword-only, `"chain"` or `"limit"` (the deep limit $\sigma_{\max} = 2$).

    **Returns:**

    A `TheoryPoint`.
    """
    if sigma not in ("chain", "limit"):
        raise ValueError(f"sigma={sigma!r} must be 'chain' or 'limit'.")
    sigma_max = float(chain_singular_values(depth)[0]) if sigma == "chain" else 2.0
    auto = eta == "auto"
    value = 1.0 / sigma_max**2 if auto else float(eta)
    return TheoryPoint(value, float(rho), float(alpha), sigma_max, auto)


def stability_grid(point: TheoryPoint, *, size: tuple[int, int] = (240, 161)):
    r"""`(etas, alphas, stable)`: `stability_region` on a grid that shows both the point and
    the boundary, $\eta_h$ up to $\max(2.2/(\rho\sigma_{\max}^2), 1.3\eta_h)$ and $\alpha$ up
    to $\max(4, 1.3\alpha)$.

    **Arguments:**

    - `point`: a `TheoryPoint`.
    - `size`: keyword-only `(n_eta, n_alpha)`.

    **Returns:**

    `(n_eta,)` etas, `(n_alpha,)` alphas and the `(n_alpha, n_eta)` bool region.
    """
    eta_top = max(2.2 / (point.rho * point.sigma_max**2), 1.3 * point.eta)
    etas = np.linspace(eta_top / size[0], eta_top, size[0])
    alphas = np.linspace(0.0, max(4.0, 1.3 * point.alpha), size[1])
    stable = stability_region(etas, alphas, rho=point.rho, sigma_max=point.sigma_max)
    return etas, alphas, stable


def chain_eigenvalues(depth: int, point: TheoryPoint) -> tuple[np.ndarray, np.ndarray]:
    r"""`(sigmas, mu)`: the identity chain's `(L-1,)` singular values and the `(L-1, 2)`
    eigenvalues $\mu_\pm$ of each mode at the point's step sizes (`transient_eigenvalues`)."""
    sigmas = chain_singular_values(depth)
    mu = transient_eigenvalues(sigmas, eta=point.eta, rho=point.rho, alpha=point.alpha)
    return sigmas, mu


def dispersion_pair(point: TheoryPoint, *, num: int = 200) -> tuple[Dispersion, Dispersion, float]:
    r"""PC's and PC-ALM's `dispersion` at the point, and the $\alpha$ PC-ALM used (1 when the
    point's $\alpha$ is 0, where PC-ALM is PC).

    Wavenumbers run up to where $\eta_h\rho\sigma^2(k) = 0.9$ (or $\pi$): past
    $\eta_h\rho\sigma^2 = 1$ PC's factor turns negative, a sign flip every step that would
    read as a phase of $\pi$.

    **Returns:**

    `(pc, pcalm, alpha)`, each `Dispersion` over `num` wavenumbers.
    """
    reach = np.sqrt(0.9 / (4.0 * point.eta * point.rho))
    top = 2.0 * np.arcsin(reach) if reach < 1 else np.pi
    k = np.linspace(top / num, top, num)
    alpha = point.alpha if point.alpha > 0 else 1.0
    return (dispersion(k, eta=point.eta, rho=point.rho, alpha=0.0),
            dispersion(k, eta=point.eta, rho=point.rho, alpha=alpha), alpha)


def eigenvalues_csv(sigmas: np.ndarray, mu: np.ndarray) -> str:
    """`sigma, mu_plus (re, im), mu_minus (re, im), max_modulus` per mode, as CSV text."""
    lines = ["sigma,mu_plus_re,mu_plus_im,mu_minus_re,mu_minus_im,max_modulus"]
    rows = [(s, m[0].real, m[0].imag, m[1].real, m[1].imag, np.abs(m).max())
            for s, m in zip(sigmas, mu)]
    lines += [",".join(repr(float(v)) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


