"""pcviz: see how deep networks learn with BP, predictive coding (PC) and PC-ALM.

The public API is this flat namespace; modules whose names start with `_` are private.
"""

__version__ = "0.1.0"

from .config import ModelConfig as ModelConfig
from .config import RuleConfig as RuleConfig
from .config import TrainConfig as TrainConfig
from .model import ResidualMLP as ResidualMLP
from .model import init_model as init_model
from .rules import Telemetry as Telemetry
from .rules import auto_eta as auto_eta
from .rules import bp_adjoints as bp_adjoints
from .rules import infer as infer
from .rules import weight_grads as weight_grads

__all__ = [
    "ModelConfig",
    "RuleConfig",
    "TrainConfig",
    "ResidualMLP",
    "init_model",
    "Telemetry",
    "auto_eta",
    "bp_adjoints",
    "infer",
    "weight_grads",
]
