"""``fst-evaluate`` / ``python scripts/evaluate.py ckpts=checkpoints/``: losses, SSIM, PSNR, speed, a gallery and a
report for style models (conf/evaluate.yaml)."""

from omegaconf import DictConfig

from fst.config import command
from fst.evaluation.evaluate import evaluate


@command("evaluate")
def main(cfg: DictConfig) -> None:
    evaluate(cfg)


if __name__ == "__main__":
    main()
