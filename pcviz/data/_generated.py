"""Generated data sets: Playground-style 2-D sets, a linear teacher and a synthetic MNIST.

Every sampler has the signature `sample(params, rng, n) -> (x, y)`: `params` draws the fixed
parts of a set (the teacher's map, the class prototypes) and is rebuilt from the same seed for
the train and the test split, so both share them; `rng` draws the `n` samples. `x` is float32
`(n, D)` (uint8 `(n, 784)` for the image set), `y` int32 `(n,)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

Sampler = Callable[[np.random.Generator, np.random.Generator, int], tuple[np.ndarray, np.ndarray]]

IMAGE_SIDE = 28
_MAX_SHIFT = 3
_STROKE_POOL = 12
_STROKES_PER_CLASS = 4


class GeneratedSpec(NamedTuple):
    """How to build one generated set, and its default size."""

    sample: Sampler
    num_classes: int
    num_train: int
    num_test: int
    image: bool
    summary: str


def _balanced_labels(rng: np.random.Generator, n: int, num_classes: int) -> np.ndarray:
    """`n` labels in shuffled order, each class `n // num_classes` or one more times."""
    return rng.permutation(np.arange(n) % num_classes).astype(np.int32)


def _polar(radius: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Points `(n, 2)` at the given radii and angles."""
    return np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)


def _spirals(params: np.random.Generator, rng: np.random.Generator, n: int):
    """Two interleaved spirals, 1.75 turns each, with Gaussian noise (TensorFlow Playground)."""
    y = _balanced_labels(rng, n, 2)
    t = rng.uniform(0.05, 1.0, n)
    x = _polar(t, 3.5 * np.pi * t + np.pi * y) + rng.normal(0.0, 0.04, (n, 2))
    return x.astype(np.float32), y


def _circles(params: np.random.Generator, rng: np.random.Generator, n: int):
    """A disc of radius 0.5 (class 0) inside a ring from 0.7 to 1 (class 1), with noise."""
    y = _balanced_labels(rng, n, 2)
    radius = np.where(y == 0, rng.uniform(0.0, 0.5, n), rng.uniform(0.7, 1.0, n))
    x = _polar(radius, rng.uniform(0.0, 2 * np.pi, n)) + rng.normal(0.0, 0.03, (n, 2))
    return x.astype(np.float32), y


def _xor(params: np.random.Generator, rng: np.random.Generator, n: int):
    """Uniform points in the square, kept 0.05 off the axes, labelled by the sign of `x1 x2`."""
    u = rng.uniform(-1.0, 1.0, (n, 2))
    u += np.where(u >= 0, 0.05, -0.05)
    y = (u[:, 0] * u[:, 1] > 0).astype(np.int32)
    x = u + rng.normal(0.0, 0.03, (n, 2))
    return x.astype(np.float32), y


def _gaussians(params: np.random.Generator, rng: np.random.Generator, n: int):
    """Four Gaussian blobs (std 0.35) centred on the unit circle at 45, 135, 225, 315 degrees."""
    y = _balanced_labels(rng, n, 4)
    centres = _polar(np.ones(4), np.pi / 4 + np.pi / 2 * np.arange(4))
    x = centres[y] + rng.normal(0.0, 0.35, (n, 2))
    return x.astype(np.float32), y


def _teacher(params: np.random.Generator, rng: np.random.Generator, n: int):
    """Labels $y = \\arg\\max_k (W^\\top x)_k$ of a fixed random `W` (32 x 10); 5% of them noise."""
    weights = params.normal(0.0, 1.0, (32, 10))
    x = rng.normal(0.0, 1.0, (n, 32))
    y = np.argmax(x @ weights, axis=1)
    noisy = rng.random(n) < 0.05
    y = np.where(noisy, rng.integers(0, 10, n), y)
    return x.astype(np.float32), y.astype(np.int32)


def _stroke(params: np.random.Generator) -> np.ndarray:
    """One elongated, rotated Gaussian blob on the 28 x 28 grid, peak 1."""
    grid = np.arange(IMAGE_SIDE) - (IMAGE_SIDE - 1) / 2
    rows, cols = np.meshgrid(grid, grid, indexing="ij")
    centre = params.uniform(-6.0, 6.0, 2)
    theta = params.uniform(0.0, np.pi)
    along = (rows - centre[0]) * np.cos(theta) + (cols - centre[1]) * np.sin(theta)
    across = -(rows - centre[0]) * np.sin(theta) + (cols - centre[1]) * np.cos(theta)
    length, thickness = params.uniform(3.0, 7.0), params.uniform(1.0, 1.8)
    return np.exp(-0.5 * ((along / length) ** 2 + (across / thickness) ** 2))


def _prototypes(params: np.random.Generator) -> np.ndarray:
    """Stroke images `(10, strokes, 28, 28)`: each class 4 strokes of a pool of 12 shared ones."""
    pool = np.stack([_stroke(params) for _ in range(_STROKE_POOL)])
    picks = np.stack(
        [params.choice(_STROKE_POOL, _STROKES_PER_CLASS, replace=False) for _ in range(10)]
    )
    return pool[picks]


def _shift_bank(images: np.ndarray) -> np.ndarray:
    """Every shift of `images` `(..., 28, 28)` by up to 3 pixels: `(49, ..., 784)`, zeros in."""
    pad, side = _MAX_SHIFT, IMAGE_SIDE
    padded = np.pad(images, [(0, 0)] * (images.ndim - 2) + [(pad, pad), (pad, pad)])
    offsets = range(2 * pad + 1)
    crops = [padded[..., r : r + side, c : c + side] for r in offsets for c in offsets]
    return np.stack(crops).reshape(len(crops), *images.shape[:-2], side * side)


def _synthetic_mnist(params: np.random.Generator, rng: np.random.Generator, n: int):
    """MNIST-like digits: a class's strokes, each scaled at random, shifted, noisy, 8-bit."""
    bank = _shift_bank(_prototypes(params).astype(np.float32))
    y = _balanced_labels(rng, n, 10)
    shift = rng.integers(0, len(bank), n)
    image = np.zeros((n, IMAGE_SIDE * IMAGE_SIDE), np.float32)
    for j in range(_STROKES_PER_CLASS):
        image += rng.uniform(0.3, 1.3, (n, 1)).astype(np.float32) * bank[shift, y, j]
    image *= rng.uniform(0.6, 1.0, (n, 1)).astype(np.float32)
    image += 0.2 * rng.standard_normal(image.shape, dtype=np.float32)
    pixels = np.rint(255 * np.clip(image, 0.0, 1.0)).astype(np.uint8)
    return pixels, y


GENERATED: dict[str, GeneratedSpec] = {
    "spirals": GeneratedSpec(_spirals, 2, 2000, 1000, False, "two interleaved noisy spirals"),
    "circles": GeneratedSpec(_circles, 2, 2000, 1000, False, "a disc inside a ring"),
    "xor": GeneratedSpec(_xor, 2, 2000, 1000, False, "quadrants labelled by the sign of x1*x2"),
    "gaussians": GeneratedSpec(_gaussians, 4, 2000, 1000, False, "four overlapping blobs"),
    "teacher": GeneratedSpec(
        _teacher, 10, 8000, 2000, False, "argmax of a random linear map, 5% label noise"
    ),
    "synthetic-mnist": GeneratedSpec(
        _synthetic_mnist, 10, 10000, 2000, True, "shifted, noisy stroke images, MNIST-like"
    ),
}
