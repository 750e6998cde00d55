"""`load_dataset` and the questions the UI asks before it: is a set available, where, how to
get it. Results are cached per argument tuple and returned read-only."""

from __future__ import annotations

import functools
import zlib
from pathlib import Path

import numpy as np

from ..config import DATASETS
from ._dataset import (
    DataError,
    Dataset,
    freeze,
    standardise_features,
    standardise_images,
)
from ._generated import GENERATED
from ._idx import IDX_SETS, SPLIT_FILES, idx_dir, read_idx, repair_hint, split_paths

NUM_IDX_CLASSES = 10


def _check_name(name: str) -> None:
    """`ValueError` unless `name` is one of `config.DATASETS`."""
    if name not in DATASETS:
        raise ValueError(f"dataset={name!r} is not one of {', '.join(map(repr, DATASETS))}.")


def _check_count(label: str, value: object, minimum: int) -> None:
    """`ValueError` unless `value` is a whole number at least `minimum`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{label}={value!r} must be a whole number of at least {minimum}.")


def dataset_path(name: str) -> Path:
    """The folder an IDX data set is read from (or should be put in, if it is missing).

    **Arguments:**

    - `name`: `"fashion-mnist"` or `"mnist"`. Fashion-MNIST is looked for in
      `$PCVIZ_DATA/fashion-mnist`, `$PCVIZ_DATA`, `/usr/share/datasets/fashion-mnist`;
      MNIST in `$PCVIZ_DATA/mnist`. The first folder holding any of the files wins.

    **Returns:**

    The folder, as a `Path`. Raises `ValueError` for a generated set, which has no files.
    """
    _check_name(name)
    if name in GENERATED:
        raise ValueError(f"dataset={name!r} is generated in memory: it has no files.")
    return idx_dir(name)


def is_available(name: str) -> bool:
    """Whether `load_dataset(name)` can find its files (always `True` for generated sets)."""
    _check_name(name)
    if name in GENERATED:
        return True
    try:
        split_paths(name)
    except DataError:
        return False
    return True


def install_hint(name: str) -> str:
    """One sentence telling the user how to make the data set `name` available."""
    _check_name(name)
    if name in GENERATED:
        return f"{name} is generated on the fly: nothing to install."
    return IDX_SETS[name].install_hint


def load_dataset(
    name: str, *, seed: int = 0, num_train: int | None = None, num_test: int | None = None
) -> Dataset:
    """Load (or generate), split and normalise a data set; cached and read-only.

    **Arguments:**

    - `name`: one of `pcviz.config.DATASETS`.
    - `seed`: keyword-only; draws a generated set (the same seed gives the same arrays).
      IDX sets are fixed files: the seed does not change them.
    - `num_train`, `num_test`: keyword-only sizes; `None` is the set's default (all samples
      for an IDX set, of which the first ones are taken).

    **Returns:**

    A `Dataset`. Images are scaled to [0, 1] and standardised with the training set's global
    mean and std; other inputs per feature with training statistics.

    **Raises:**

    `ValueError` for an unknown name or a bad size; `DataError` for a missing or corrupt file.
    """
    _check_name(name)
    _check_count("seed", seed, 0)
    for label, value in (("num_train", num_train), ("num_test", num_test)):
        if value is not None:
            _check_count(label, value, 1)
    if name in GENERATED:
        spec = GENERATED[name]
        num_train = spec.num_train if num_train is None else num_train
        num_test = spec.num_test if num_test is None else num_test
        return _load_generated(name, int(seed), int(num_train), int(num_test))
    paths = split_paths(name)
    return _load_idx(name, tuple(paths[stem] for stem in SPLIT_FILES), num_train, num_test)


@functools.lru_cache(maxsize=16)
def _load_generated(name: str, seed: int, num_train: int, num_test: int) -> Dataset:
    """Draw a generated set: fixed parts, train and test from three streams of one seed."""
    spec = GENERATED[name]
    root = np.random.SeedSequence([seed, zlib.crc32(name.encode())])
    params, train_seed, test_seed = root.spawn(3)
    x_train, y_train = spec.sample(
        np.random.default_rng(params), np.random.default_rng(train_seed), num_train
    )
    x_test, y_test = spec.sample(
        np.random.default_rng(params), np.random.default_rng(test_seed), num_test
    )
    standardise = standardise_images if spec.image else standardise_features
    x_train, x_test = standardise(x_train, x_test)
    about = f"{spec.summary}, {x_train.shape[1]}-D, {spec.num_classes} classes"
    return _frozen(name, x_train, y_train, x_test, y_test, spec.num_classes, about)


@functools.lru_cache(maxsize=2)
def _load_idx(
    name: str, paths: tuple[Path, ...], num_train: int | None, num_test: int | None
) -> Dataset:
    """Read, subset and standardise an IDX set from its four files (in `SPLIT_FILES` order)."""
    x_train, y_train = _read_pair(name, paths[0], paths[1])
    x_test, y_test = _read_pair(name, paths[2], paths[3])
    if x_test.shape[1:] != x_train.shape[1:]:
        problem = f"{paths[2]} holds {_size(x_test)} images, but {paths[0]} holds {_size(x_train)}."
        raise DataError(paths[2], problem, repair_hint(name, paths[2]))
    x_train, y_train = _first(x_train, y_train, num_train, "num_train", paths[0])
    x_test, y_test = _first(x_test, y_test, num_test, "num_test", paths[2])
    flat = (x.reshape(len(x), -1) for x in (x_train, x_test))
    x_train, x_test = standardise_images(*flat)
    about = f"{IDX_SETS[name].summary}, {NUM_IDX_CLASSES} classes, from {paths[0].parent}"
    return _frozen(name, x_train, y_train, x_test, y_test, NUM_IDX_CLASSES, about)


def _size(images: np.ndarray) -> str:
    """`"28 x 28"` for images of shape `(n, 28, 28)`."""
    return " x ".join(map(str, images.shape[1:]))


def _read_pair(name: str, images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 `(n, rows, cols)` and labels int32 `(n,)`, checked against each other."""
    images = _read_ubyte(name, images_path, 3, "images (count x rows x cols)")
    labels = _read_ubyte(name, labels_path, 1, "labels (count)")
    fix = repair_hint(name, labels_path)
    if len(labels) != len(images):
        problem = f"{labels_path} holds {len(labels)} labels but {images_path} holds"
        raise DataError(labels_path, f"{problem} {len(images)} images.", fix)
    if len(labels) and labels.max() >= NUM_IDX_CLASSES:
        problem = f"{labels_path} holds label {labels.max()}, outside 0..{NUM_IDX_CLASSES - 1}."
        raise DataError(labels_path, problem, fix)
    return images, labels.astype(np.int32)


def _read_ubyte(name: str, path: Path, ndim: int, what: str) -> np.ndarray:
    """An unsigned-byte IDX array of `ndim` dimensions from `path`, else `DataError`."""
    fix = repair_hint(name, path)
    array = read_idx(path, fix=fix)
    if array.ndim != ndim or array.dtype != np.uint8:
        problem = f"{path} holds a {array.ndim}-D {array.dtype} array, not {ndim}-D uint8 {what}."
        raise DataError(path, problem, fix)
    return array


def _first(
    x: np.ndarray, y: np.ndarray, count: int | None, label: str, path: Path
) -> tuple[np.ndarray, np.ndarray]:
    """The first `count` samples (all if `None`); `ValueError` if there are fewer."""
    if count is None:
        return x, y
    if count > len(x):
        problem = f"{label}={count} is more than the {len(x)} samples in {path}"
        raise ValueError(f"{problem}: choose at most {len(x)}.")
    return x[:count], y[:count]


def _frozen(
    name: str,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    num_classes: int,
    about: str,
) -> Dataset:
    """A `Dataset` of read-only arrays, its description ending in the split sizes."""
    description = f"{name}: {about} ({len(x_train)} train / {len(x_test)} test)."
    x_train, y_train, x_test, y_test = (
        freeze(np.ascontiguousarray(a)) for a in (x_train, y_train, x_test, y_test))
    return Dataset(name, x_train, y_train, x_test, y_test, num_classes, description)
