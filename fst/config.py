"""Checks on command-line config choices that Hydra would otherwise report as a long message."""

from __future__ import annotations

from fst import CONF_DIR
from fst.errors import FstError


def check_group_choices(overrides: list[str]) -> None:
    """One-line error for ``group=option`` when conf/<group>/<option>.yaml does not exist."""
    for override in overrides:
        key, has_value, value = override.partition("=")
        key = key.lstrip("+~")
        group = CONF_DIR / key
        if not has_value or key.startswith("hydra") or "." in key or not group.is_dir() or value in ("", "null"):
            continue
        if not (group / f"{value}.yaml").is_file():
            choices = ", ".join(sorted(p.stem for p in group.glob("*.yaml")))
            hint = "; or train any painting with style.name=<name> style.image=<file>" if key == "style" else ""
            raise FstError(f"unknown {key} '{value}'; choose one of: {choices}{hint}")
