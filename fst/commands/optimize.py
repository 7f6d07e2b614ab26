"""``fst-optimize`` / ``python scripts/optimize.py content=photo.jpg style=starry_night``: the per-image
optimization baseline of Gatys et al. (conf/optimize.yaml)."""

from omegaconf import DictConfig

from fst.commands.cli import command
from fst.evaluation.optimization import optimize

EXAMPLES = [
    "fst-optimize content=photo.jpg style=starry_night      # L-BFGS, 300 steps, 512 px",
    "fst-optimize content=photo.jpg style=candy optimizer=adam steps=1000 init=noise",
    "fst-optimize content=photo.jpg style=candy loss=gatys  # VGG19 and the layers of Gatys et al.",
]


@command("optimize", EXAMPLES)
def main(cfg: DictConfig) -> None:
    """Optimize one photo's pixels against a style's perceptual loss (Gatys et al.): the slow baseline."""
    optimize(cfg)


if __name__ == "__main__":
    main()
