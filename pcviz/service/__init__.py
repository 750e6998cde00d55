"""The run service: every heavy computation of the dashboard and the command line, on Ray.

- `start`, `status`, `ensure`: the cluster (joined through `RAY_ADDRESS`, else a local one
  with `PCVIZ_WORKERS` CPUs, started in the background).
- `submit`, `as_completed`, `Job`: bounded tasks (sweep cells, probes, theory computations,
  warm-up compiles); a task whose worker dies runs again elsewhere.
- `open_live_run`, `find_live_run`, `LiveRunClient`, `RunView`: live runs, each a named
  actor that holds its weights and trains while playing, recorded in the run store;
  `new_live_run_id` and `start_spare_runs`: spare runs started ahead, which a new run takes.
"""

from ._client import LiveRunClient as LiveRunClient
from ._client import RunGone as RunGone
from ._client import find_live_run as find_live_run
from ._client import new_live_run_id as new_live_run_id
from ._client import open_live_run as open_live_run
from ._client import start_spare_runs as start_spare_runs
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
from ._live import LiveRun as LiveRun
from ._live import RunView as RunView
from ._live import failure_message as failure_message
from ._live import idle_seconds as idle_seconds
from ._live import run_config as run_config
from ._pacing import PAGE_FLOOR as PAGE_FLOOR
from ._pacing import Pacer as Pacer
from ._pacing import settle_heap as settle_heap
from ._warm import warm_up as warm_up

__all__ = [
    "PAGE_FLOOR",
    "ClusterStatus",
    "ClusterUnavailable",
    "Job",
    "LiveRun",
    "LiveRunClient",
    "Pacer",
    "RunGone",
    "RunView",
    "WorkerLost",
    "as_completed",
    "ensure",
    "failure_message",
    "find_live_run",
    "idle_seconds",
    "new_live_run_id",
    "open_live_run",
    "ready",
    "run_config",
    "settle_heap",
    "start",
    "start_spare_runs",
    "status",
    "submit",
    "warm_up",
]
