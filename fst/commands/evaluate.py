"""``fst-evaluate`` / ``python scripts/evaluate.py ckpts=checkpoints/``: losses, SSIM, PSNR, speed, a gallery and a
report for style models (conf/evaluate.yaml)."""

from omegaconf import DictConfig

from fst.commands.cli import command

EXAMPLES = [
    "fst-evaluate ckpts=checkpoints/                        # every shipped model",
    "fst-evaluate ckpts=[candy,runs/candy/v1/candy.safetensors]",
    "fst-evaluate ckpts=candy optimization.enabled=true     # and the per-image optimization baseline",
]


@command("evaluate", EXAMPLES)
def main(cfg: DictConfig) -> None:
    """Evaluate style models on held-out photos: losses, SSIM, PSNR, speed, a gallery and a report."""
    # The library (torch and all) loads only once the options are checked: --help and mistakes answer at once.
    from fst.evaluation.measure import evaluate

    evaluate(cfg)


if __name__ == "__main__":
    main()
