"""``fst-optimize`` / ``python scripts/optimize.py content=photo.jpg style=starry_night``: the per-image
optimization baseline of Gatys et al. (conf/optimize.yaml)."""

import logging
from pathlib import Path

from omegaconf import DictConfig

from fst.commands.cli import command
from fst.config import build
from fst.errors import FstError

log = logging.getLogger("fst.optimization")

EXAMPLES = [
    "fst-optimize content=photo.jpg style=starry_night      # L-BFGS, 300 steps, 512 px",
    "fst-optimize content=photo.jpg style=candy optimizer=adam steps=1000 init=noise",
    "fst-optimize content=photo.jpg style=candy loss=gatys  # VGG19 and the layers of Gatys et al.",
]


def optimize(cfg: DictConfig) -> Path:
    """Optimize one photo in one style as ``conf/optimize.yaml`` says; return the image's path."""
    from fst.data.images import IMAGE_EXTENSIONS, ImageLoadError, load_image, save_image
    from fst.inference.device import pick_device
    from fst.io import check_writable
    from fst.optimization import optimize_image, save_loss_curve
    from fst.training.styles import style_painting

    content_path = Path(cfg.content).expanduser()
    if not content_path.is_file():
        raise FstError(f"content image not found: {content_path}; pass content=/path/to/photo.jpg")
    output = Path(cfg.output).expanduser() if cfg.output else Path("optimized") / cfg.style.name / f"{content_path.stem}.jpg"
    if output.suffix.lower() not in IMAGE_EXTENSIONS:
        raise FstError(f"output must be an image file ({', '.join(IMAGE_EXTENSIONS)}), got {output}")
    if output.resolve() == content_path.resolve():
        raise FstError(f"output {output} is the content image; choose another output=")
    if output.exists() and not cfg.overwrite:
        raise FstError(f"{output} exists; pass overwrite=true to replace it or choose another output=")
    check_writable(output, "output")
    try:
        content = load_image(content_path, long_side=cfg.size)
    except ImageLoadError as exc:
        raise FstError(f"content: {exc}") from None
    device = pick_device(cfg.device)
    criterion = build(cfg.loss).to(device)
    criterion.set_style(style_painting(cfg.style).to(device))
    result = optimize_image(
        content.unsqueeze(0).to(device), criterion,
        optimizer=cfg.optimizer, steps=cfg.steps, lr=cfg.lr, init=cfg.init, seed=cfg.seed, progress=cfg.progress,
    )
    save_image(result.image[0], output)
    stem = output.with_suffix("")
    title = f"{cfg.style.name}: {cfg.optimizer}, {cfg.steps} steps, init={cfg.init}"
    save_loss_curve(result.history, Path(f"{stem}_losses.csv"), Path(f"{stem}_losses.png"), title)
    log.info(
        "fst: %s written (%s, %d steps, %.1f s; final loss %.4g) with %s_losses.csv/.png",
        output, cfg.optimizer, len(result.history), result.seconds, result.history[-1]["total"], stem,
    )
    return output


@command("optimize", EXAMPLES)
def main(cfg: DictConfig) -> None:
    """Optimize one photo's pixels against a style's perceptual loss (Gatys et al.): the slow baseline."""
    optimize(cfg)


if __name__ == "__main__":
    main()
