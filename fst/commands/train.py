"""``fst-train`` / ``python scripts/train.py style=starry_night``: train a style model (conf/train.yaml)."""

from pathlib import Path

from omegaconf import DictConfig

from fst.commands.cli import command
from fst.training.run import train
from fst.messages import say

EXAMPLES = [
    "fst-train experiment=demo                            # a quick demo model, minutes on a CPU",
    "fst-train style=candy                                # a shipped style's painting and weights",
    "fst-train style.name=mine style.image=painting.jpg   # any painting",
    "fst-train experiment=multi_style                     # the 8 zoo styles in one network",
    "fst-train experiment=adapt style.name=mine style.image=painting.jpg   # a new painting in minutes",
]


@command("train", EXAMPLES)
def main(cfg: DictConfig) -> None:
    """Train a feed-forward style network for a painting (or several in one network) against a VGG perceptual loss."""
    path = train(cfg)
    if path is not None and Path(path).is_file():
        say(f"style model written to {path}")


if __name__ == "__main__":
    main()
