"""Shipped style models by name: ``ckpt=starry_night`` is ``checkpoints/starry_night.safetensors``, and
``ckpt=adapted/the_scream`` is ``checkpoints/adapted/the_scream.safetensors``."""

from __future__ import annotations

import json
from pathlib import Path

from fst.errors import FstError
from fst.models.card import describe
from fst.models.cost import multiply_adds
from fst.models.registry import build_network
from fst.models.serialization import read_card
from fst.resources import CHECKPOINTS_DIR

METRICS = ("content", "style", "ssim", "psnr", "seconds")  # the evaluation figures the table shows


def shipped_models() -> dict[str, Path]:
    """The models that ship with fst, by name: the file's stem, or ``<folder>/<stem>`` for one in a subfolder (the
    adapted models of ``checkpoints/adapted/``, which share their styles' names with the zoo's). Not
    ``checkpoints/progress/``: the unfinished trainings kept there are no models to offer."""
    top = {path.stem: path for path in sorted(CHECKPOINTS_DIR.glob("*.safetensors"))}
    return top | {f"{path.parent.name}/{path.stem}": path for path in sorted(CHECKPOINTS_DIR.glob("*/*.safetensors"))
                  if path.parent.name != "progress"}


def resolve_model(ref: str | Path, option: str = "ckpt") -> Path:
    """A model file from a path, or from the name of a shipped model; a one-line error otherwise."""
    path = Path(str(ref)).expanduser()
    if path.is_file():
        return path
    shipped = shipped_models()
    if str(ref) in shipped:
        return shipped[str(ref)]
    names = ", ".join(shipped) or "none"
    if path.suffix or len(path.parts) > 1:  # meant as a file
        raise FstError(f"checkpoint not found: {path}; pass {option}=<file> or a shipped model's name ({names})")
    raise FstError(f"{option}={ref} is neither a file nor a shipped model; shipped models: {names} (fst-models lists them)")


def shipped_models_table() -> str:
    """A markdown table of the shipped models: name, architecture, styles, work per 640x360 video frame, training and
    evaluation figures."""
    lines = [
        "| name | architecture | style(s) | steps | image size | content loss | style loss | SSIM | PSNR (dB) | s / image "
        "| GMAC / 640x360 frame |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    work = {}  # GMAC per frame, by architecture and options: the weights do not change it
    for name, path in shipped_models().items():
        card = read_card(path)
        key = (card.architecture, json.dumps(card.network, sort_keys=True))
        if key not in work:
            work[key] = multiply_adds(build_network(card.architecture, card.network), 360, 640) / 1e9
        figures = "? | ? | ? | ? | ?"
        if card.evaluation:  # a multi-style model: the means over its styles
            mean = {m: sum(getattr(e, m) for e in card.evaluation.values()) / len(card.evaluation) for m in METRICS}
            figures = " | ".join(f"{mean[m]:.{2 if m == 'psnr' else 3}f}" for m in METRICS)
        lines.append(
            f"| {name} | {card.architecture} | {', '.join(card.style_names)} | {card.training.steps} | "
            f"{card.training.image_size or '?'} | {figures} | {work[key]:.1f} |"
        )
    return "\n".join(lines)


def card_text(ref: str, option: str = "name") -> str:
    """One model's whole card, for people: its file, then a field a line."""
    path = resolve_model(ref, option=option)
    rows = describe(read_card(path))
    width = max(len(key) for key, _ in rows)
    return "\n".join([str(path), *(f"  {key:<{width}}  {value}" for key, value in rows)])
