"""Tests of `pcviz.data`: generated sets, the IDX reader and its errors, batching."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest

from pcviz.config import DATASETS
from pcviz.data import (
    Batches,
    DataError,
    Dataset,
    dataset_path,
    fixed_batch,
    install_hint,
    is_available,
    load_dataset,
    one_hot,
    read_idx,
)
from pcviz.data._load import _load_generated

GENERATED = {  # name: (input_dim, num_classes, num_train, num_test)
    "spirals": (2, 2, 2000, 1000),
    "circles": (2, 2, 2000, 1000),
    "xor": (2, 2, 2000, 1000),
    "gaussians": (2, 4, 2000, 1000),
    "teacher": (32, 10, 8000, 2000),
    "synthetic-mnist": (784, 10, 10000, 2000),
}
IDX_CODES = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}
SPLIT_NAMES = {
    "train-images": "train-images-idx3-ubyte",
    "train-labels": "train-labels-idx1-ubyte",
    "t10k-images": "t10k-images-idx3-ubyte",
    "t10k-labels": "t10k-labels-idx1-ubyte",
}


# ------------------------------------------------------------------------------- fixtures


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of `array`: big-endian header, then the big-endian elements."""
    code = IDX_CODES[array.dtype.str[1:]]
    header = bytes([0, 0, code, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write `array` as an IDX file at `path`, gzipped if the name ends in `.gz`."""
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def write_split(folder: Path, n_train=30, n_test=12, *, suffix=".gz") -> dict[str, Path]:
    """Write a small, valid four-file IDX set of random images into `folder`."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels": (np.arange(n_test) % 10).astype(np.uint8),
    }
    return {k: write_idx(folder / (SPLIT_NAMES[k] + suffix), a) for k, a in arrays.items()}


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    """An empty `$PCVIZ_DATA`."""
    monkeypatch.setenv("PCVIZ_DATA", str(tmp_path))
    return tmp_path


def toy_dataset(num_train: int, num_test: int = 5) -> Dataset:
    """A dataset whose single feature is the sample's index, to trace batches."""
    x_train = np.arange(num_train, dtype=np.float32)[:, None]
    x_test = -np.arange(1, num_test + 1, dtype=np.float32)[:, None]
    y_train = np.arange(num_train, dtype=np.int32) % 2
    y_test = np.arange(num_test, dtype=np.int32) % 2
    return Dataset("toy", x_train, y_train, x_test, y_test, 2, "toy")


def linear_accuracy(ds: Dataset) -> float:
    """Test accuracy of a ridge-regression linear classifier fitted to one-hot targets."""
    def bias(x):
        return np.hstack([x, np.ones((len(x), 1))])

    x = bias(ds.x_train)
    gram = x.T @ x + 1e-3 * np.eye(x.shape[1])
    weights = np.linalg.solve(gram, x.T @ one_hot(ds.y_train, ds.num_classes))
    return float(np.mean(np.argmax(bias(ds.x_test) @ weights, axis=1) == ds.y_test))


# -------------------------------------------------------------------------- generated sets


def test_every_configured_name_is_known():
    assert set(GENERATED) | {"fashion-mnist", "mnist"} == set(DATASETS)
    for name in GENERATED:
        assert is_available(name)
        assert "nothing to install" in install_hint(name)


@pytest.mark.parametrize("name", list(GENERATED))
def test_generated_shapes_dtypes_and_classes(name):
    dim, classes, n, m = GENERATED[name]
    ds = load_dataset(name)
    assert (ds.name, ds.num_classes, ds.input_dim, ds.num_train, ds.num_test) == (
        name, classes, dim, n, m,
    )
    assert ds.x_train.shape == (n, dim) and ds.x_test.shape == (m, dim)
    assert ds.x_train.dtype == ds.x_test.dtype == np.float32
    assert ds.y_train.dtype == ds.y_test.dtype == np.int32
    assert set(np.unique(ds.y_train)) == set(range(classes))
    assert set(np.unique(ds.y_test)) <= set(range(classes))
    assert np.isfinite(ds.x_train).all() and np.isfinite(ds.x_test).all()
    assert "\n" not in ds.description and f"{n} train / {m} test" in ds.description


@pytest.mark.parametrize("name", list(GENERATED))
def test_generated_is_deterministic_and_seeded(name):
    first = load_dataset(name, seed=7, num_train=300, num_test=100)
    _load_generated.cache_clear()
    again = load_dataset(name, seed=7, num_train=300, num_test=100)
    other = load_dataset(name, seed=8, num_train=300, num_test=100)
    assert first is not again
    for a, b in zip(first[1:5], again[1:5]):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.x_train, other.x_train)


@pytest.mark.parametrize("name", ["spirals", "circles", "xor", "gaussians", "teacher"])
def test_features_standardised_with_train_statistics(name):
    ds = load_dataset(name)
    np.testing.assert_allclose(ds.x_train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(ds.x_train.std(axis=0), 1.0, atol=1e-4)
    assert np.abs(ds.x_test.mean(axis=0)).max() < 0.15


def test_synthetic_mnist_standardised_globally_like_an_image():
    ds = load_dataset("synthetic-mnist")
    assert abs(float(ds.x_train.mean(dtype=np.float64))) < 1e-5
    assert abs(float(ds.x_train.std(dtype=np.float64)) - 1.0) < 1e-4
    assert len(np.unique(ds.x_train[:50])) <= 256  # 8-bit pixels under one affine map


def test_test_split_independent_of_train_size():
    small = load_dataset("teacher", num_train=100)
    full = load_dataset("teacher")
    np.testing.assert_array_equal(small.y_test, full.y_test)
    assert small.num_train == 100


def test_arrays_are_read_only_and_cached():
    ds = load_dataset("spirals")
    assert load_dataset("spirals") is ds
    with pytest.raises(ValueError):
        ds.x_train[0, 0] = 1.0
    assert not ds.y_test.flags.writeable


def test_linear_model_difficulty():
    for name in ("spirals", "circles", "xor"):
        assert linear_accuracy(load_dataset(name)) < 0.7, name
    assert linear_accuracy(load_dataset("gaussians")) > 0.85
    assert 0.3 < linear_accuracy(load_dataset("synthetic-mnist")) < 0.95


def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError, match=r"'spirals'.*'fashion-mnist'"):
        load_dataset("cifar")
    for kwargs in ({"seed": -1}, {"num_train": 0}, {"num_test": 2.5}):
        with pytest.raises(ValueError):
            load_dataset("xor", **kwargs)
    with pytest.raises(ValueError, match="generated"):
        dataset_path("xor")


def test_one_hot():
    codes = one_hot(np.array([2, 0], np.int32), 3)
    np.testing.assert_array_equal(codes, [[0, 0, 1], [1, 0, 0]])
    assert codes.dtype == np.float32
    with pytest.raises(ValueError, match=r"outside 0\.\.2"):
        one_hot(np.array([3]), 3)


# -------------------------------------------------------------------------------- batching


def test_batches_cover_an_epoch_then_reshuffle():
    batches = Batches(toy_dataset(12), 4, seed=0)
    assert batches.steps_per_epoch == 3 and (batches.epoch, batches.step) == (0, 0)
    epochs = [np.concatenate([next(batches)[0][:, 0] for _ in range(3)]) for _ in range(2)]
    assert (batches.epoch, batches.step) == (2, 6)
    assert sorted(epochs[0]) == sorted(epochs[1]) == list(range(12))
    assert not np.array_equal(epochs[0], epochs[1])


def test_batches_drop_the_partial_batch_and_have_dtypes():
    batches = Batches(toy_dataset(10), 3, seed=1)
    assert batches.steps_per_epoch == 3
    seen = np.concatenate([next(batches)[0][:, 0] for _ in range(3)])
    assert len(set(seen)) == 9
    x, y = next(Batches(load_dataset("teacher"), 16, seed=0))
    assert x.shape == (16, 32) and x.dtype == np.float32
    assert y.shape == (16,) and y.dtype == np.int32


def test_batches_deterministic_by_seed():
    def stream(seed):
        batches = Batches(toy_dataset(40), 8, seed=seed)
        return np.concatenate([next(batches)[0][:, 0] for _ in range(12)])

    np.testing.assert_array_equal(stream(3), stream(3))
    assert not np.array_equal(stream(3), stream(4))
    batches = Batches(toy_dataset(40), 8, seed=3)
    np.testing.assert_array_equal(batches.batch(7)[0][:, 0], stream(3)[56:64])


def test_batch_size_too_large():
    with pytest.raises(ValueError, match=r"batch_size=13 is larger than the training set \(n=12\)"):
        Batches(toy_dataset(12), 13, seed=0)
    with pytest.raises(ValueError, match="batch_size=0"):
        Batches(toy_dataset(12), 0, seed=0)


def test_fixed_batch_comes_from_the_test_split():
    ds = toy_dataset(12, num_test=9)
    x, y = fixed_batch(ds, 4, seed=2)
    assert x.shape == (4, 1) and y.shape == (4,)
    assert len(set(x[:, 0])) == 4 and (x < 0).all()
    np.testing.assert_array_equal(x, fixed_batch(ds, 4, seed=2)[0])
    with pytest.raises(ValueError, match=r"larger than the test set \(n=9\)"):
        fixed_batch(ds, 10, seed=0)


# ------------------------------------------------------------------------------ IDX files


@pytest.mark.parametrize("dtype", ["u1", "i1", ">i2", ">i4", ">f4", ">f8"])
@pytest.mark.parametrize("suffix", [".gz", ""])
def test_read_idx_round_trip(tmp_path, dtype, suffix):
    array = (np.arange(24).reshape(2, 3, 4) - (0 if dtype == "u1" else 5)).astype(dtype)
    got = read_idx(write_idx(tmp_path / f"a{suffix}", array))
    np.testing.assert_array_equal(got, array)
    assert got.dtype.isnative and got.shape == (2, 3, 4)


def test_idx_set_loads_from_pcviz_data(data_dir):
    write_split(data_dir / "mnist", n_train=30, n_test=12, suffix="")
    assert is_available("mnist") and dataset_path("mnist") == data_dir / "mnist"
    ds = load_dataset("mnist", num_test=10)
    assert (ds.num_train, ds.num_test, ds.input_dim, ds.num_classes) == (30, 10, 784, 10)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int32
    assert abs(float(ds.x_train.mean())) < 1e-5 and abs(float(ds.x_train.std()) - 1) < 1e-4
    with pytest.raises(ValueError, match="num_train=31 is more than the 30 samples"):
        load_dataset("mnist", num_train=31)


def test_dotted_spelling_and_fashion_search_order(data_dir):
    for stem, path in write_split(data_dir, n_train=20).items():
        path.rename(data_dir / path.name.replace(f"{stem}-", f"{stem}."))
    assert dataset_path("fashion-mnist") == data_dir
    assert load_dataset("fashion-mnist").num_train == 20
    write_split(data_dir / "fashion-mnist", n_train=25)
    assert dataset_path("fashion-mnist") == data_dir / "fashion-mnist"
    assert load_dataset("fashion-mnist").num_train == 25


def test_missing_mnist_names_path_and_fix(data_dir):
    assert not is_available("mnist")
    with pytest.raises(DataError) as info:
        load_dataset("mnist")
    message = str(info.value)
    assert str(data_dir / "mnist" / "train-images-idx3-ubyte.gz") in message
    assert "does not exist" in message and "PCVIZ_DATA" in message


def test_incomplete_fashion_names_missing_file_and_package(data_dir):
    paths = write_split(data_dir / "fashion-mnist")
    paths["t10k-labels"].unlink()
    with pytest.raises(DataError) as info:
        load_dataset("fashion-mnist")
    assert str(paths["t10k-labels"]) in str(info.value)
    assert "sudo apt-get install dataset-fashion-mnist" in str(info.value)
    assert info.value.path == paths["t10k-labels"]


def _corrupt(path: Path, how: str) -> None:
    """Damage one IDX file in place."""
    payload = gzip.decompress(path.read_bytes())
    damaged = {
        "truncated": lambda: gzip.compress(payload[:-100]),
        "bad magic": lambda: gzip.compress(b"\x00\x00\x07\x03" + payload[4:]),
        "not gzip": lambda: payload,
        "cut gzip": lambda: gzip.compress(payload)[:-50],
        "long": lambda: gzip.compress(payload + b"\x00"),
    }[how]()
    path.write_bytes(damaged)


@pytest.mark.parametrize(
    "how, words",
    [
        ("truncated", "is truncated"),
        ("bad magic", "starts with 0x00000703, not a magic number"),
        ("not gzip", "not a valid gzip file"),
        ("cut gzip", "not a valid gzip file"),
        ("long", "too long"),
    ],
)
def test_corrupt_file_names_file_problem_and_fix(data_dir, how, words):
    paths = write_split(data_dir / "mnist")
    _corrupt(paths["train-images"], how)
    with pytest.raises(DataError) as info:
        load_dataset("mnist")
    message = str(info.value)
    assert str(paths["train-images"]) in message and words in message
    assert "fresh download" in message
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__


@pytest.mark.parametrize(
    "stem, array, words",
    [
        ("train-labels", np.zeros(29, np.uint8), "holds 29 labels but"),
        ("train-labels", np.full(30, 10, np.uint8), "label 10, outside 0..9"),
        ("train-images", np.zeros((30, 784), np.uint8), "2-D uint8 array, not 3-D"),
        ("t10k-images", np.zeros((12, 20, 20), np.uint8), "20 x 20 images"),
    ],
)
def test_inconsistent_files_raise_data_error(data_dir, stem, array, words):
    paths = write_split(data_dir / "mnist", n_train=30, n_test=12)
    write_idx(paths[stem], array)
    with pytest.raises(DataError, match=words) as info:
        load_dataset("mnist")
    assert str(paths[stem]) in str(info.value)


def test_read_idx_explains_bad_files(tmp_path):
    zipped = tmp_path / "train-images-idx3-ubyte"
    zipped.write_bytes(gzip.compress(idx_bytes(np.zeros((2, 2, 2), np.uint8))))
    with pytest.raises(DataError, match="looks gzipped"):
        read_idx(zipped)
    empty = tmp_path / "empty-idx1-ubyte"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match="is empty"):
        read_idx(empty)
    with pytest.raises(DataError, match=r"does not exist\. Replace it"):
        read_idx(tmp_path / "nothing.gz")
    empty.write_bytes(b"\x00\x00\x08\x00")
    with pytest.raises(DataError, match="declares 0 dimensions"):
        read_idx(empty)


def test_data_error_pickles():
    err = DataError("/x/y.gz", "/x/y.gz is broken.", "Fix it.")
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == "/x/y.gz is broken. Fix it." and again.path == Path("/x/y.gz")
    assert isinstance(again, ValueError)


@pytest.mark.needs_fashion_mnist
@pytest.mark.skipif(
    not is_available("fashion-mnist"),
    reason="needs Fashion-MNIST: install the Debian package dataset-fashion-mnist",
)
def test_fashion_mnist_loads():
    ds = load_dataset("fashion-mnist")
    assert (ds.num_train, ds.num_test, ds.input_dim, ds.num_classes) == (60000, 10000, 784, 10)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int32
    assert np.array_equal(np.bincount(ds.y_train), np.full(10, 6000))
    assert abs(float(ds.x_train.mean(dtype=np.float64))) < 1e-5
    assert abs(float(ds.x_train.std(dtype=np.float64)) - 1.0) < 1e-4
