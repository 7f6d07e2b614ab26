"""Style networks: the architecture registry, the model card, model files and the shipped models.

Importing this package registers every built-in architecture.
"""

from fst.models import arbitrary_net, conditional_net, light_net, transformer_net  # noqa: F401  (register their architectures)
from fst.models.card import Evaluation, LossSpec, ModelCard, StyleSpec, TrainingRecord
from fst.models.registry import architecture_of, architectures, build_network, register_architecture
from fst.models.serialization import load_style_model, read_card, save_style_model, update_card
from fst.models.zoo import resolve_model, shipped_models

__all__ = [
    "Evaluation", "LossSpec", "ModelCard", "StyleSpec", "TrainingRecord",
    "load_style_model", "read_card", "save_style_model", "update_card",
    "architecture_of", "architectures", "build_network", "register_architecture",
    "resolve_model", "shipped_models",
]
