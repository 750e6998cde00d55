"""The `Dataset` record, the `DataError` exception and the normalisations."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np


class Dataset(NamedTuple):
    """A classification data set, split and normalised; its arrays are read-only.

    **Arguments:**

    - `name`: a name from `pcviz.config.DATASETS`.
    - `x_train`: float32 `(n, D)` inputs, standardised with training statistics.
    - `y_train`: int32 `(n,)` labels in `0 .. num_classes - 1`.
    - `x_test`, `y_test`: the same for the test split, `(m, D)` and `(m,)`.
    - `num_classes`: `K`.
    - `description`: one line for the UI.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    description: str

    @property
    def input_dim(self) -> int:
        """`D`, the number of input features."""
        return int(self.x_train.shape[1])

    @property
    def num_train(self) -> int:
        """`n`, the number of training samples."""
        return int(self.x_train.shape[0])

    @property
    def num_test(self) -> int:
        """`m`, the number of test samples."""
        return int(self.x_test.shape[0])


class DataError(ValueError):
    """A data file is missing or corrupt; `str(err)` says which file, what is wrong, the fix.

    **Arguments:**

    - `path`: the file at fault.
    - `problem`: one sentence naming `path` and what is wrong with it.
    - `fix`: one sentence saying how to repair it.
    """

    def __init__(self, path: str | Path, problem: str, fix: str):
        super().__init__(str(path), problem, fix)
        self.path = Path(path)
        self.problem = problem
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.problem} {self.fix}"


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """One-hot codes of integer labels.

    **Arguments:**

    - `labels`: integer array of any shape, values in `0 .. num_classes - 1`.
    - `num_classes`: `K`.

    **Returns:**

    float32 array of shape `labels.shape + (K,)`.
    """
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integers, got dtype {labels.dtype}.")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"labels range over {labels.min()}..{labels.max()}, "
            f"outside 0..{num_classes - 1} for num_classes={num_classes}."
        )
    return np.eye(num_classes, dtype=np.float32)[labels]


def standardise_features(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Standardise each feature with the training mean and std (a constant feature keeps std 1).

    **Arguments:**

    - `train`: `(n, D)` floats; `test`: `(m, D)` floats.

    **Returns:**

    `(train, test)` as float32, `train` with per-feature mean 0 and std 1.
    """
    mean = train.mean(axis=0, dtype=np.float64)
    std = train.std(axis=0, dtype=np.float64)
    std = np.where(std > 1e-12, std, 1.0)
    return tuple(((x - mean) / std).astype(np.float32) for x in (train, test))


def standardise_images(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale 8-bit pixels to [0, 1], then standardise with the training set's global mean, std.

    $$x \\mapsto (x / 255 - \\mu) / \\sigma$$, with $\\mu, \\sigma$ over all training pixels,
    computed exactly from integer sums of the pixels and of their squares.

    **Arguments:**

    - `train`: uint8 `(n, D)`; `test`: uint8 `(m, D)`.

    **Returns:**

    `(train, test)` as float32 `(n, D)` and `(m, D)`.
    """
    count = train.size
    total = int(train.sum(dtype=np.uint64))
    squares = int(np.square(train, dtype=np.uint16).sum(dtype=np.uint64))
    mean = total / count
    std = np.sqrt(max(squares / count - mean**2, 0.0))
    scale = 1.0 / std if std > 0 else 1.0
    return _affine(train, scale, -mean * scale), _affine(test, scale, -mean * scale)


def _affine(pixels: np.ndarray, scale: float, shift: float) -> np.ndarray:
    """`pixels * scale + shift` as a new float32 array, computed in place."""
    out = pixels.astype(np.float32)
    out *= np.float32(scale)
    out += np.float32(shift)
    return out


def freeze(array: np.ndarray) -> np.ndarray:
    """Mark `array` read-only (callers share cached arrays) and return it."""
    array.flags.writeable = False
    return array
