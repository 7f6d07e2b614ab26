"""Which style a multi-style model paints: one of its styles, or a convex mix of several."""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from fst.errors import FstError
from fst.models.card import ModelCard


def style_weights(spec: str | Mapping | None, names: list[str]) -> torch.Tensor:
    """(S,) weights over a model's styles, summing to 1, from ``spec``.

    ``spec`` is a style name (``candy``), a mix ``candy:0.3,udnie:0.7`` or ``{candy: 0.3, udnie: 0.7}``; weights
    must be non-negative and not all zero, and are normalised to sum to 1.
    """
    listed = ", ".join(names)
    if spec is None or spec == "":
        raise FstError(f"this model paints {len(names)} styles ({listed}); pick one with style=<name> or mix them, "
                       f"e.g. style={names[0]}:0.5,{names[-1]}:0.5")
    if isinstance(spec, Mapping):
        items = [(str(name), weight) for name, weight in spec.items()]
    else:
        items = [(part.partition(":")[0].strip(), part.partition(":")[2].strip() or "1") for part in str(spec).split(",")]
    weights = torch.zeros(len(names))
    for name, weight in items:
        if name not in names:
            raise FstError(f"style={spec}: this model has no style '{name}'; its styles: {listed}")
        try:
            value = float(weight)
        except ValueError:
            raise FstError(f"style={spec}: the weight of '{name}' is not a number: {weight!r}") from None
        if not math.isfinite(value) or value < 0:  # inf would normalise to NaN: a black picture
            raise FstError(f"style={spec}: weights must be >= 0 and finite, got {name}:{weight}")
        weights[names.index(name)] += value
    if weights.sum() <= 0:
        raise FstError(f"style={spec}: the weights are all zero; give at least one style a positive weight")
    return weights / weights.sum()


def describe_mix(weights: torch.Tensor, names: list[str]) -> str:
    """``candy`` for a single style, ``candy30+udnie70`` (percentages) for a mix: a name for files and folders."""
    used = [(name, w) for name, w in zip(names, weights.tolist()) if w > 0]
    if len(used) == 1:
        return used[0][0]
    return "+".join(f"{name}{round(100 * w)}" for name, w in used)


def chosen_style(card: ModelCard, spec, required: bool = True) -> tuple[torch.Tensor | None, str]:
    """The style weights ``style=`` asks of a multi-style model (None for a one-style model), and the name of what
    it will paint. ``required=False`` lets a multi-style model go without ``style=`` (as itself, every style kept)."""
    if not card.multi_style:
        if spec is not None and spec != card.name:
            raise FstError(f"style={spec}: this model paints one style, {card.name}; drop style= or pick a multi-style model")
        return None, card.name
    if spec is None and not required:
        return None, card.name
    weights = style_weights(spec, card.style_names)
    return weights, describe_mix(weights, card.style_names)
