"""IDX files (the MNIST format): a validating reader, and where the IDX data sets live.

An IDX file is a big-endian header, magic `0x0000TTNN` (`TT` the element type, `NN` the number
of dimensions), then `NN` uint32 sizes, then the elements in C order; it may be gzipped.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ._dataset import DataError, freeze

IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
SPLIT_FILES = ("train-images", "train-labels", "t10k-images", "t10k-labels")
SYSTEM_DIR = Path("/usr/share/datasets")
_GENERIC_FIX = "Replace it with a fresh copy of the file."


class IdxSet(NamedTuple):
    """An IDX data set: its title and contents, the folders searched, the install hint."""

    title: str
    summary: str
    data_subdirs: tuple[str, ...]
    system_dir: Path | None
    install_hint: str


IDX_SETS: dict[str, IdxSet] = {
    "fashion-mnist": IdxSet(
        "Fashion-MNIST",
        "28 x 28 grey photographs of clothing",
        ("fashion-mnist", "."),
        SYSTEM_DIR / "fashion-mnist",
        "Install it with `sudo apt-get install dataset-fashion-mnist`, "
        "or set PCVIZ_DATA to a folder holding the four IDX files.",
    ),
    "mnist": IdxSet(
        "MNIST",
        "28 x 28 grey handwritten digits",
        ("mnist",),
        None,
        "Set PCVIZ_DATA to a folder whose `mnist` subfolder holds the four IDX files "
        "(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-...).",
    ),
}


def _open_payload(path: Path, fix: str) -> bytes:
    """The bytes of `path`, gunzipped if its name ends in `.gz`; `DataError` if unreadable."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(path, f"{path} does not exist.", fix) from None
    except OSError as err:
        raise DataError(path, f"{path} could not be read ({err.strerror}).", fix) from None
    if path.suffix != ".gz":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(path, f"{path} is not a valid gzip file ({err}).", fix) from None


def _parse_header(path: Path, data: bytes, fix: str) -> tuple[np.dtype, tuple[int, ...]]:
    """The element type and shape from an IDX header; `DataError` if it is malformed."""
    if len(data) < 4 or data[0] or data[1] or data[2] not in IDX_TYPES:
        start = f"starts with 0x{data[:4].hex()}" if data else "is empty"
        problem = f"{path} is not an IDX file: it {start}, not a magic number 0x0000TTNN"
        if data[:2] == b"\x1f\x8b":
            problem += " (it looks gzipped: give its name the ending .gz)"
        raise DataError(path, f"{problem}.", fix)
    ndim = data[3]
    if ndim == 0 or len(data) < 4 + 4 * ndim:
        problem = f"{path} has a bad IDX header: it declares {ndim} dimensions"
        raise DataError(path, f"{problem} in {len(data)} bytes.", fix)
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return IDX_TYPES[data[2]], shape


def read_idx(path: str | Path, *, fix: str = _GENERIC_FIX) -> np.ndarray:
    """Read an IDX file (optionally gzipped), checking its header against its size.

    **Arguments:**

    - `path`: the file; a name ending in `.gz` is gunzipped.
    - `fix`: keyword-only; the sentence telling the user how to repair a bad file.

    **Returns:**

    The array, shaped as the header says, in native byte order, read-only.

    **Raises:**

    `DataError` if the file is missing, unreadable, not gzip (for `.gz`), has a bad magic
    number, or its payload is shorter or longer than the header promises.
    """
    path = Path(path)
    data = _open_payload(path, fix)
    dtype, shape = _parse_header(path, data, fix)
    offset = 4 + 4 * len(shape)
    expected = math.prod(shape) * dtype.itemsize
    if len(data) - offset != expected:
        state = "truncated" if len(data) - offset < expected else "too long"
        dims = " x ".join(map(str, shape))
        problem = f"{path} is {state}: its header promises {dims} values ({expected} bytes)"
        raise DataError(path, f"{problem} but it holds {len(data) - offset} bytes.", fix)
    array = np.frombuffer(data, dtype, offset=offset).reshape(shape)
    return freeze(array.astype(dtype.newbyteorder("="), copy=False))


def _candidate_dirs(name: str) -> list[Path]:
    """The folders searched for the IDX set `name`, in order."""
    spec = IDX_SETS[name]
    root = os.environ.get("PCVIZ_DATA")
    dirs = [Path(root) / sub for sub in spec.data_subdirs] if root else []
    return dirs + ([spec.system_dir] if spec.system_dir is not None else [])


def _spellings(stem: str) -> list[str]:
    """File names accepted for `stem`, e.g. `train-images` -> `train-images-idx3-ubyte.gz`."""
    kind = "idx3" if stem.endswith("images") else "idx1"
    bases = (f"{stem}-{kind}-ubyte", f"{stem}.{kind}-ubyte")
    return [base + ext for base in bases for ext in (".gz", "")]


def find_file(directory: Path, stem: str) -> Path | None:
    """The first existing spelling of `stem` in `directory`, or `None`."""
    return next((directory / n for n in _spellings(stem) if (directory / n).is_file()), None)


def idx_dir(name: str) -> Path:
    """The folder the IDX set `name` is read from: the first searched folder holding any of
    its files, else the first searched (where its files belong; `$PCVIZ_DATA/mnist` literally
    when nothing is searched because PCVIZ_DATA is unset)."""
    dirs = _candidate_dirs(name)
    if not dirs:
        return Path("$PCVIZ_DATA") / IDX_SETS[name].data_subdirs[0]
    held = (d for d in dirs if any(find_file(d, stem) for stem in SPLIT_FILES))
    return next(held, dirs[0])


def split_paths(name: str) -> dict[str, Path]:
    """The four files of the IDX set `name`; `DataError` naming the first one missing."""
    directory = idx_dir(name)
    paths = {stem: find_file(directory, stem) for stem in SPLIT_FILES}
    missing = next((stem for stem, path in paths.items() if path is None), None)
    if missing is not None:
        path = directory / _spellings(missing)[0]
        problem = f"{IDX_SETS[name].title} not found: {path} does not exist."
        raise DataError(path, problem, IDX_SETS[name].install_hint)
    return {stem: path for stem, path in paths.items() if path is not None}


def repair_hint(name: str, path: Path) -> str:
    """How to repair a corrupt file of the IDX set `name` at `path`."""
    if name == "fashion-mnist" and SYSTEM_DIR in path.parents:
        return "Reinstall it with `sudo apt-get install --reinstall dataset-fashion-mnist`."
    return f"Replace it with a fresh download of the {IDX_SETS[name].title} IDX file."
