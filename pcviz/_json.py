"""Values made strict JSON, the one way every writer of JSON does it (the exports, the run
store, the command line, checkpoints, live runs' metrics)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def json_ready(value: Any) -> Any:
    """`value` as strict JSON holds it: NaN and infinities become `None` (`null`), NumPy
    scalars and arrays Python numbers and lists, tuples lists, mapping keys strings; other
    values pass through as they are (`json.dumps(..., allow_nan=False)` then accepts it).
    """
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


__all__ = ["json_ready"]
