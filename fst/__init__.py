"""fst: fast neural style transfer (feed-forward TransformerNet, VGG16 perceptual loss)."""

from pathlib import Path

from omegaconf import OmegaConf

from fst.hardware import cpu_training_precision

__version__ = "0.1.0"

# The Hydra configs live at the top of the repository (the package is installed with `pip install -e .`).
CONF_DIR = Path(__file__).resolve().parents[1] / "conf"

# conf/trainer/cpu.yaml: `precision: ${cpu_precision:}` picks bf16 only on CPUs that run it natively.
OmegaConf.register_new_resolver("cpu_precision", cpu_training_precision, replace=True)
