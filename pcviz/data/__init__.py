"""Data sets for pcviz: generated sets, Fashion-MNIST / MNIST from IDX files, and batching.

The layout, one idea per private module:

- `_dataset.py`: the `Dataset` record, `DataError`, `one_hot` and the normalisations;
- `_generated.py`: the generated sets (spirals, circles, xor, gaussians, teacher,
  synthetic-mnist), each a pure sampler of a NumPy generator;
- `_idx.py`: the IDX reader and where the IDX sets live;
- `_load.py`: `load_dataset` (cached, read-only) and the availability questions;
- `_batches.py`: `Batches` and `fixed_batch`.

Data come from NumPy only; a missing or corrupt file raises `DataError`, whose message names
the file and the fix.
"""

from ._batches import Batches as Batches
from ._batches import fixed_batch as fixed_batch
from ._dataset import DataError as DataError
from ._dataset import Dataset as Dataset
from ._dataset import one_hot as one_hot
from ._idx import read_idx as read_idx
from ._load import dataset_path as dataset_path
from ._load import install_hint as install_hint
from ._load import is_available as is_available
from ._load import load_dataset as load_dataset

__all__ = [
    "Batches",
    "DataError",
    "Dataset",
    "dataset_path",
    "fixed_batch",
    "install_hint",
    "is_available",
    "load_dataset",
    "one_hot",
    "read_idx",
]
