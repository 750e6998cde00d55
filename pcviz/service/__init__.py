"""The run service: every heavy computation of the dashboard and the command line, on Ray.

- `start`, `status`, `ensure`: the cluster (joined through `RAY_ADDRESS`, else a local one
  with `PCVIZ_WORKERS` CPUs, started in the background).
- `submit`, `as_completed`, `Job`: bounded tasks (sweep cells, probes, theory computations,
  warm-up compiles); a task whose worker dies runs again elsewhere.
- `open_live_run`, `find_live_run`, `LiveRunClient`, `RunView`: live runs, each a named
  actor that holds its weights and trains while playing, recorded in the run store.
"""

from ._cluster import ClusterStatus as ClusterStatus
from ._cluster import ClusterUnavailable as ClusterUnavailable
from ._cluster import ensure as ensure
from ._cluster import ready as ready
from ._cluster import start as start
from ._cluster import status as status
from ._jobs import Job as Job
from ._jobs import WorkerLost as WorkerLost
from ._jobs import as_completed as as_completed
from ._jobs import submit as submit

__all__ = [
    "ClusterStatus",
    "ClusterUnavailable",
    "Job",
    "WorkerLost",
    "as_completed",
    "ensure",
    "ready",
    "start",
    "status",
    "submit",
]
