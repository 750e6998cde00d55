"""Deterministic mini-batches: one shuffled pass per epoch, reproducible from the seed."""

from __future__ import annotations

import numpy as np

from ._dataset import Dataset


def _check_batch_size(batch_size: int, available: int, split: str) -> None:
    """`ValueError` unless `1 <= batch_size <= available`."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise ValueError(f"batch_size={batch_size!r} must be a whole number.")
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be at least 1.")
    if batch_size > available:
        raise ValueError(
            f"batch_size={batch_size} is larger than the {split} (n={available}): "
            f"choose at most {available}."
        )


def epoch_permutation(num_samples: int, seed: int, epoch: int) -> np.ndarray:
    """The sample order of epoch `epoch`: a permutation drawn from `(seed, epoch)` alone."""
    return np.random.default_rng([seed, epoch]).permutation(num_samples)


class Batches:
    """An endless, deterministic stream of training mini-batches.

    Each epoch visits the training set in a fresh order drawn from `(seed, epoch)` and drops
    the last partial batch, so an epoch has `num_train // batch_size` steps.

    **Arguments:**

    - `dataset`: the `Dataset` whose training split is batched.
    - `batch_size`: `B`, from 1 to `dataset.num_train`.
    - `seed`: keyword-only; the same seed gives the same batches.

    `next(batches)` returns `(x, y)`: float32 `(B, D)` and int32 `(B,)`. `step` counts the
    batches served, `epoch` is the epoch of the next one.
    """

    def __init__(self, dataset: Dataset, batch_size: int, *, seed: int):
        _check_batch_size(batch_size, dataset.num_train, "training set")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.steps_per_epoch = dataset.num_train // self.batch_size
        self.step = 0
        self._order = (-1, np.empty(0, np.intp))

    @property
    def epoch(self) -> int:
        """The epoch the next batch belongs to (the number of epochs completed)."""
        return self.step // self.steps_per_epoch

    def __iter__(self) -> Batches:
        return self

    def __next__(self) -> tuple[np.ndarray, np.ndarray]:
        batch = self.batch(self.step)
        self.step += 1
        return batch

    def batch(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """The batch served at `step` (counting from 0), without moving the stream.

        **Returns:**

        `(x, y)`: float32 `(B, D)` and int32 `(B,)`.
        """
        if step < 0:
            raise ValueError(f"step={step} must be at least 0.")
        epoch, position = divmod(step, self.steps_per_epoch)
        if self._order[0] != epoch:
            self._order = (epoch, epoch_permutation(self.dataset.num_train, self.seed, epoch))
        start = position * self.batch_size
        index = self._order[1][start : start + self.batch_size]
        return self.dataset.x_train[index], self.dataset.y_train[index]


def fixed_batch(dataset: Dataset, batch_size: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed probe batch from the test split (to compare gradients of several rules).

    **Arguments:**

    - `dataset`: the `Dataset`.
    - `batch_size`: `B`, from 1 to `dataset.num_test`.
    - `seed`: keyword-only; picks the `B` distinct test samples.

    **Returns:**

    `(x, y)`: float32 `(B, D)` and int32 `(B,)`.
    """
    _check_batch_size(batch_size, dataset.num_test, "test set")
    index = np.random.default_rng(seed).choice(dataset.num_test, int(batch_size), replace=False)
    return dataset.x_test[index], dataset.y_test[index]
