"""Shipped style models by name: ``ckpt=starry_night`` is ``checkpoints/starry_night.safetensors``."""

from __future__ import annotations

from pathlib import Path

from fst.errors import FstError
from fst.resources import CHECKPOINTS_DIR


def shipped_models() -> dict[str, Path]:
    """The models that ship with fst, by name (the file's stem)."""
    return {path.stem: path for path in sorted(CHECKPOINTS_DIR.glob("*.safetensors"))}


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
