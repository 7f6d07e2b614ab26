"""``fst-models`` / ``python scripts/models.py``: the shipped style models and their cards (conf/models.yaml).

``fst-models`` lists them; ``fst-models name=starry_night`` (a name or any model file) prints one whole card.
"""

from omegaconf import DictConfig

from fst.config import command
from fst.models.card import describe
from fst.models.files import read_card
from fst.models.zoo import resolve_model, shipped_models


def models_table() -> str:
    """A markdown table of the shipped models: name, architecture, styles, training and evaluation figures."""
    lines = [
        "| name | architecture | style(s) | steps | image size | content loss | style loss | SSIM | PSNR (dB) | s / image |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, path in shipped_models().items():
        card = read_card(path)
        e = card.evaluation
        figures = f"{e.content:.3f} | {e.style:.3f} | {e.ssim:.3f} | {e.psnr:.2f} | {e.seconds:.3f}" if e else "? | ? | ? | ? | ?"
        lines.append(
            f"| {name} | {card.architecture} | {', '.join(card.style_names)} | {card.training.steps} | "
            f"{card.training.image_size or '?'} | {figures} |"
        )
    return "\n".join(lines)


def card_text(ref: str) -> str:
    path = resolve_model(ref, option="name")
    rows = describe(read_card(path))
    width = max(len(key) for key, _ in rows)
    return "\n".join([str(path), *(f"  {key:<{width}}  {value}" for key, value in rows)])


@command("models")
def main(cfg: DictConfig) -> None:
    print(card_text(cfg.name) if cfg.name else models_table())


if __name__ == "__main__":
    main()
