"""The styles a run trains: one (``style``) or several in one network (``styles``, for a conditional model)."""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from fst.config import compose_option, group_options
from fst.data.styles import load_style_image
from fst.errors import FstError
from fst.models.card import StyleSpec
from fst.resources import DEMO_DIR


def known_styles() -> list[str]:
    return group_options("train", "style")


def style_painting(style: DictConfig) -> torch.Tensor:
    """``style``'s painting; a name that is neither a known style nor given a painting is an error that says so."""
    image = Path(str(style.image)).expanduser()
    # style.image follows style.name (<data_dir>/styles/<name>.jpg) unless it was given: a typo in a name shows here
    if not image.is_file() and image.stem == style.name and style.name not in known_styles():
        raise FstError(
            f"style.name={style.name} is not a known style ({', '.join(known_styles())}) and has no painting at {image}; "
            "pick a style with style=<name>, or give your painting with style.image=/path/to/painting.jpg"
        )
    check_demo_has(image, "style")
    return load_style_image(image, style.size)


def check_demo_has(image: str | Path, option: str) -> None:
    """Without FST_DATA_DIR, paintings come from the demo set, which has only the demo's: say so, not just "not found"."""
    path = Path(str(image)).expanduser()
    if not path.is_file() and path.parent == DEMO_DIR / "styles":
        have = ", ".join(sorted(p.name for p in path.parent.glob("*.jpg")))
        raise FstError(
            f"{option}: FST_DATA_DIR is not set, and the demo set that ships with fst has no {path.name} (it has {have}); "
            f"set FST_DATA_DIR to a data folder with styles/{path.name}, or {option}.image=/path/to/painting.jpg"
        )


def known_style_settings(name: str, cfg: DictConfig) -> dict:
    """A style's painting, size and weight from conf/style/<name>.yaml, resolved against the run's paths."""
    if name not in known_styles():
        raise FstError(f"styles: unknown style '{name}'; choose from {', '.join(known_styles())}, or give {{name: ..., image: ...}}")
    node = OmegaConf.merge({"paths": cfg.paths}, compose_option("style", name))
    return {"name": node.style.name, "image": node.style.image, "size": node.style.size, "style_weight": node.loss.style_weight}


ENTRY_KEYS = ("name", "image", "size", "style_weight")


def styles_entry(index: int, entry, cfg: DictConfig) -> dict:
    """A ``styles`` entry as a dict: a name's yaml, under what a ``{name: ..., ...}`` entry gives itself."""
    if isinstance(entry, str):
        return known_style_settings(entry, cfg)
    given = OmegaConf.to_container(entry, resolve=True)
    unknown = sorted(set(given) - set(ENTRY_KEYS))
    if unknown:
        raise FstError(f"styles[{index}]: unknown key '{unknown[0]}'; an entry takes {', '.join(ENTRY_KEYS)}")
    if "name" not in given:
        raise FstError(f"styles[{index}] needs a name, e.g. {{name: mine, image: /path/painting.jpg}}")
    if given["name"] in known_styles():  # a known style with some of its settings changed
        return known_style_settings(given["name"], cfg) | given
    if "image" not in given:
        raise FstError(
            f"styles[{index}]: '{given['name']}' is not a known style; give its painting: {{name: ..., image: /path/painting.jpg}}"
        )
    return given


def training_styles(cfg: DictConfig) -> list[tuple[StyleSpec, torch.Tensor]]:
    """Each style of the run with its painting, a (1, 3, H, W) batch at the style's size.

    ``styles`` entries are style names (their yamls give the painting, its size and the style weight) or
    ``{name, image, size, style_weight}``: for a painting without a yaml (size and weight are optional: the
    ``style`` and ``loss`` defaults apply), or a known style with some of its settings changed. Without
    ``styles`` the run trains ``style`` alone.
    """
    if not cfg.get("styles"):
        return [(StyleSpec(name=cfg.style.name, size=cfg.style.size), style_painting(cfg.style))]
    # Every entry is checked before any painting is read: a typo fails at once.
    entries = [styles_entry(index, entry, cfg) for index, entry in enumerate(cfg.styles)]
    names = [entry["name"] for entry in entries]
    if len(set(names)) < len(names):
        raise FstError(f"styles names a style twice: {', '.join(names)}")
    for index, entry in enumerate(entries):
        check_demo_has(entry["image"], f"styles[{index}]")
    styles = []
    for index, entry in enumerate(entries):
        size = entry.get("size", cfg.style.size)
        spec = StyleSpec(name=entry["name"], size=size, style_weight=entry.get("style_weight"))
        styles.append((spec, load_style_image(entry["image"], size, option=f"styles[{index}]")))
    return styles
