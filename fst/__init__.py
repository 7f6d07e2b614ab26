"""fst: fast neural style transfer (feed-forward TransformerNet, VGG16 perceptual loss)."""

from pathlib import Path

__version__ = "0.1.0"

# The Hydra configs live at the top of the repository (the package is installed with `pip install -e .`).
CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
