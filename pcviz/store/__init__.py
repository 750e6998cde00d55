"""The run store: every run's configuration, versions, curves, metrics and checkpoint.

Built on SQLAlchemy Core, the same tables on SQLite (the embedded default: a file in the
user's data folder, nothing to install) and PostgreSQL (a shared deployment: every dashboard
replica, worker and command line writes one database). `PCVIZ_STORE` names either: a path, or
a URL (`sqlite:///...`, `postgresql://user:password@host/db`; plain `postgresql://` means the
psycopg 3 driver).

Tables: `runs` (one row per run: id, kind, parent sweep, label, configuration, versions,
status, step, metrics, error, times), `points` (per run, rule and training step: loss,
accuracy, test accuracy, seconds per step) and `checkpoints` (per run, the latest one).
SQLite files are written in WAL mode with a 30 s busy timeout, so several processes can write
one file; PostgreSQL connections are checked before use (`pool_pre_ping`).

NaN in `config` and `metrics` is stored as JSON null and read back as `None`; NaN in curve
points is stored as SQL NULL and read back as NaN.

Every database error becomes a `StoreError` whose message says what went wrong and how to
fix it, with any password masked.
"""

from ._errors import StoreError as StoreError
from ._errors import masked as masked
from ._schema import KINDS as KINDS
from ._schema import STATUSES as STATUSES
from ._schema import CurvePoint as CurvePoint
from ._schema import RunRecord as RunRecord
from ._store import RunStore as RunStore
from ._store import new_run_id as new_run_id
from ._store import open_store as open_store
from ._store import versions as versions
from ._urls import default_store_url as default_store_url

__all__ = ["KINDS", "STATUSES", "CurvePoint", "RunRecord", "RunStore", "StoreError",
           "default_store_url", "masked", "new_run_id", "open_store", "versions"]
