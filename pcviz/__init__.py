"""pcviz: see how deep networks learn with BP, predictive coding (PC) and PC-ALM.

The public API is this flat namespace; modules whose names start with `_` are private.
`pcviz.figures` (Plotly figures) and `pcviz.ui` (Streamlit glue) are imported on demand.
"""

__version__ = "0.1.0"

from . import _devices  # noqa: F401 - imported first for its effect: one JAX device per CPU core
from .analysis import FrontFit as FrontFit
from .analysis import arrival_steps as arrival_steps
from .analysis import fit_front as fit_front
from .budget import BudgetError as BudgetError
from .budget import check_budget as check_budget
from .config import InferenceConfig as InferenceConfig
from .config import ModelConfig as ModelConfig
from .config import RuleConfig as RuleConfig
from .config import TrainConfig as TrainConfig
from .data import DataError as DataError
from .data import Dataset as Dataset
from .data import load_dataset as load_dataset
from .model import ResidualMLP as ResidualMLP
from .model import init_model as init_model
from .rules import Telemetry as Telemetry
from .rules import auto_eta as auto_eta
from .rules import bp_adjoints as bp_adjoints
from .rules import infer as infer
from .rules import weight_grads as weight_grads
from .runs import ProbeResult as ProbeResult
from .runs import SweepCell as SweepCell
from .runs import probe as probe
from .runs import sweep as sweep
from .train import OutOfMemory as OutOfMemory
from .train import Session as Session

__all__ = [
    "BudgetError",
    "DataError",
    "Dataset",
    "FrontFit",
    "InferenceConfig",
    "ModelConfig",
    "OutOfMemory",
    "ProbeResult",
    "ResidualMLP",
    "RuleConfig",
    "Session",
    "SweepCell",
    "Telemetry",
    "TrainConfig",
    "arrival_steps",
    "auto_eta",
    "bp_adjoints",
    "check_budget",
    "fit_front",
    "infer",
    "init_model",
    "load_dataset",
    "probe",
    "sweep",
    "weight_grads",
]
