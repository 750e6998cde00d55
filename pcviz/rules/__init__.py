"""The learning rules: BP, PC and PC-ALM through one inference engine.

Layers, each built only from the one above it: `_energy` (residuals, Lagrangian, state
gradients, every layer at once) -> `_infer` (the inference `lax.scan` and its telemetry) ->
`_grads` (weight gradients of each rule).
"""

from ._energy import lagrangian as lagrangian
from ._energy import layer_energies as layer_energies
from ._energy import residuals as residuals
from ._energy import state_gradient as state_gradient
from ._grads import as_targets as as_targets
from ._grads import bp_grads as bp_grads
from ._grads import energy_weight_grads as energy_weight_grads
from ._grads import inference_weight_grads as inference_weight_grads
from ._grads import weight_grads as weight_grads
from ._infer import InferenceState as InferenceState
from ._infer import Telemetry as Telemetry
from ._infer import auto_eta as auto_eta
from ._infer import bp_adjoints as bp_adjoints
from ._infer import constraint_spectral_norm as constraint_spectral_norm
from ._infer import infer as infer
from ._infer import resolve_eta as resolve_eta
