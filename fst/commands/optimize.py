"""``fst-optimize`` / ``python scripts/optimize.py content=photo.jpg style=starry_night``: the per-image
optimization baseline of Gatys et al. (conf/optimize.yaml)."""

from omegaconf import DictConfig

from fst.config import command
from fst.evaluation.optimization import optimize


@command("optimize")
def main(cfg: DictConfig) -> None:
    optimize(cfg)


if __name__ == "__main__":
    main()
