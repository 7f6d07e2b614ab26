"""``fst-train`` / ``python scripts/train.py style=starry_night``: train a style model (conf/train.yaml)."""

from pathlib import Path

from omegaconf import DictConfig
from pytorch_lightning.utilities import rank_zero_info

from fst.config import command
from fst.training.run import train


@command("train")
def main(cfg: DictConfig) -> None:
    path = train(cfg)
    if path is not None and Path(path).is_file():
        rank_zero_info(f"fst: style model written to {path}")


if __name__ == "__main__":
    main()
