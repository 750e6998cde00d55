"""The residual MLP of docs/science.md ("The network") as an `eqx.Module`, in muPC or standard
parameterisation."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .config import ModelConfig

_ACTIVATIONS = {
    "linear": lambda h: h,
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "gelu": jax.nn.gelu,
}


def activation_fn(name: str):
    """The elementwise nonlinearity `phi` called `name` (validated by `ModelConfig`)."""
    return _ACTIVATIONS[name]


class ResidualMLP(eqx.Module):
    r"""Residual MLP with named, stacked weights.

    $$h_1 = a_1 W_1 x,\qquad h_i = s\,h_{i-1} + a_h W_i \phi(h_{i-1})\ (i = 2..L-1),
      \qquad \hat y = a_L W_L \phi(h_{L-1})$$

    with skip factor $s \in \{0, 1\}$. The $L-2$ hidden weights are one `(L-2, N, N)` array so
    that every layer's prediction is computed in one batched contraction.

    **Fields:**

    - `w_in`: $W_1$, shape `(N, D)`; `w_hidden`: $W_2..W_{L-1}$, `(L-2, N, N)`;
      `w_out`: $W_L$, `(K, N)`.
    - `scale_in`, `scale_hidden`, `scale_out`: $a_1, a_h, a_L$ (static).
    - `activation`: name of $\phi$; `skip`: whether hidden layers add their input (static).
    """

    w_in: Float[Array, "width input"]
    w_hidden: Float[Array, "hidden width width"]
    w_out: Float[Array, "output width"]
    scale_in: float = eqx.field(static=True)
    scale_hidden: float = eqx.field(static=True)
    scale_out: float = eqx.field(static=True)
    activation: str = eqx.field(static=True)
    skip: bool = eqx.field(static=True)

    @property
    def depth(self) -> int:
        """`L`, the number of weight layers."""
        return self.w_hidden.shape[-3] + 2

    def phi(self, h: Array) -> Array:
        """The activation $\\phi$ applied elementwise."""
        return activation_fn(self.activation)(h)

    def first_hidden(self, x: Float[Array, "batch input"]) -> Float[Array, "batch width"]:
        """$f_1(x) = a_1 W_1 x$ for a batch."""
        return self.scale_in * x @ self.w_in.T

    def hidden_predictions(
        self, h_below: Float[Array, "layers batch width"]
    ) -> Float[Array, "layers batch width"]:
        """$f_i(h_{i-1}) = s\\,h_{i-1} + a_h W_i \\phi(h_{i-1})$ for every hidden layer at once.

        `h_below[j]` is the state feeding hidden weight `j`; one batched contraction.
        """
        mixed = jnp.einsum("lnm,lbm->lbn", self.w_hidden, self.phi(h_below))
        out = self.scale_hidden * mixed
        return h_below + out if self.skip else out

    def readout(self, h_last: Float[Array, "batch width"]) -> Float[Array, "batch output"]:
        """$\\hat y = a_L W_L \\phi(h_{L-1})$."""
        return self.scale_out * self.phi(h_last) @ self.w_out.T

    def states(
        self,
        x: Float[Array, "batch input"],
        shift: Float[Array, "layers batch width"] | None = None,
    ) -> Float[Array, "layers batch width"]:
        r"""The forward pass's hidden states $h_1..h_{L-1}$, shape `(L-1, B, N)` (a `lax.scan`).

        With `shift`, each state is offset after its prediction, $h_i = f_i(h_{i-1}) + s_i$:
        the gradient of the loss with respect to `shift` at 0 is the BP adjoint $\delta_i$.
        """

        def layer(h, inputs):
            w, s = inputs
            pre = self.scale_hidden * self.phi(h) @ w.T
            h_next = (h + pre if self.skip else pre) + s
            return h_next, h_next

        h1 = self.first_hidden(x)
        if shift is None:
            shift = jnp.zeros((self.depth - 1, *h1.shape), h1.dtype)
        h1 = h1 + shift[0]
        _, rest = jax.lax.scan(layer, h1, (self.w_hidden, shift[1:]))
        return jnp.concatenate([h1[None], rest], axis=0)

    def __call__(self, x: Float[Array, "batch input"]) -> Float[Array, "batch output"]:
        """Forward prediction, `(B, D) -> (B, K)`."""
        return self.readout(self.states(x)[-1])


def _scales(cfg: ModelConfig) -> tuple[float, float, float]:
    if cfg.param == "mupc":
        return (
            1.0 / math.sqrt(cfg.input_dim),
            1.0 / math.sqrt(cfg.width * cfg.depth),
            1.0 / cfg.width,
        )
    return 1.0, 1.0, 1.0


def init_model(cfg: ModelConfig, key: PRNGKeyArray) -> ResidualMLP:
    r"""Initialise a residual MLP.

    muPC (Innocenti et al. 2025): $a_1 = 1/\sqrt{D}$, $a_h = 1/\sqrt{NL}$, $a_L = 1/N$,
    $W \sim \mathcal N(0, 1)$. SP: $a = 1$, $W \sim U(\pm 1/\sqrt{\text{fan-in}})$.
    Weights take JAX's default float type (float32, or float64 with `jax_enable_x64`).

    **Arguments:**

    - `cfg`: a validated `ModelConfig`.
    - `key`: a `jax.random.PRNGKey`.

    **Returns:** a `ResidualMLP`.

    The weights are drawn on the host by NumPy from the key's data (deterministic in the key,
    and nothing to compile, which keeps a new session quick); the key must be concrete.
    """
    n, d, k, hidden = cfg.width, cfg.input_dim, cfg.output_dim, cfg.depth - 2
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel())
    shapes = ((n, d), (hidden, n, n), (k, n))
    if cfg.param == "mupc":
        draws = [rng.standard_normal(shape) for shape in shapes]
    else:
        draws = [rng.uniform(-1.0, 1.0, shape) / math.sqrt(shape[-1]) for shape in shapes]
    dtype = jnp.result_type(float)  # float32, or float64 under jax_enable_x64
    w_in, w_hidden, w_out = (jnp.asarray(w, dtype=dtype) for w in draws)
    a_in, a_hidden, a_out = _scales(cfg)
    return ResidualMLP(
        w_in=w_in,
        w_hidden=w_hidden,
        w_out=w_out,
        scale_in=a_in,
        scale_hidden=a_hidden,
        scale_out=a_out,
        activation=cfg.activation,
        skip=cfg.skip,
    )


def mse_loss(yhat: Array, y: Array) -> Array:
    """Per-sample loss $\\ell = \\tfrac12\\|\\hat y - y\\|^2$, shape `(B,)`; `y` one-hot."""
    return 0.5 * jnp.sum((yhat - y) ** 2, axis=-1)
