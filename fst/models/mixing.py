"""Which style a multi-style model paints: one of its styles, or a convex mix of several; for a model that paints
any painting (fst.models.arbitrary_net), painting files and its known styles' names, mixed alike."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import torch

from fst.errors import FstError
from fst.models.card import ModelCard

WEIGHT_SEPARATOR = ":"


def style_weights(spec: str | Mapping | None, names: list[str]) -> torch.Tensor:
    """(S,) weights over a model's styles, summing to 1, from ``spec``.

    ``spec`` is a style name (``candy``), a mix ``candy:0.3,udnie:0.7`` or ``{candy: 0.3, udnie: 0.7}``; weights
    must be non-negative and not all zero, and are normalised to sum to 1.
    """
    listed = ", ".join(names)
    if spec is None or spec == "":
        raise FstError(f"this model paints {len(names)} styles ({listed}); pick one with style=<name> or mix them, "
                       f"e.g. style={names[0]}:0.5,{names[-1]}:0.5")
    weights = torch.zeros(len(names))
    for name, weight in mix_parts(spec):
        if name not in names:
            raise FstError(f"style={spec}: this model has no style '{name}'; its styles: {listed}")
        weights[names.index(name)] += _weight(spec, name, weight)
    if weights.sum() <= 0:
        raise FstError(f"style={spec}: the weights are all zero; give at least one style a positive weight")
    return weights / weights.sum()


def describe_mix(weights: torch.Tensor, names: list[str]) -> str:
    """``candy`` for a single style, ``candy30+udnie70`` (percentages) for a mix: a name for files and folders."""
    used = [(name, w) for name, w in zip(names, weights.tolist()) if w > 0]
    if len(used) == 1:
        return used[0][0]
    return "+".join(f"{name}{round(100 * w)}" for name, w in used)


def mix_parts(spec: str | Mapping) -> list[tuple[str, str]]:
    """``a:0.3,b`` -> [("a", "0.3"), ("b", "1")]; a painting's path may hold colons of its own (``C:/art.jpg``)."""
    if isinstance(spec, Mapping):
        return [(str(name), str(weight)) for name, weight in spec.items()]
    parts = []
    for part in (p.strip() for p in str(spec).split(",")):
        if WEIGHT_SEPARATOR in part and not Path(part).expanduser().is_file():
            name, _, weight = part.rpartition(WEIGHT_SEPARATOR)
        else:
            name, weight = part, "1"
        parts.append((name.strip(), weight.strip() or "1"))
    return parts


def _paintings(card: ModelCard, spec: str | Mapping | None) -> list[tuple[str, bool, float]]:
    """The (name or painting file, whether it is a known style, weight) items of ``style=`` for a model that paints
    any painting, checked: each names a known style or an existing file, weights are >= 0 and not all zero."""
    names = ", ".join(card.style_names)
    if spec is None or spec == "":
        raise FstError("this model paints any painting: give one with style=path/to/painting.jpg"
                       + (f" or one of its styles ({names})" if names else ""))
    items = []
    for name, weight in mix_parts(spec):
        is_known = name in card.style_names
        if not is_known and not Path(name).expanduser().is_file():
            raise FstError(f"style={spec}: '{name}' is neither a painting file nor a style of this model"
                           + (f"; its styles: {names}" if names else ""))
        items.append((name, is_known, _weight(spec, name, weight)))
    if sum(w for _, _, w in items) <= 0:
        raise FstError(f"style={spec}: the weights are all zero; give at least one painting a positive weight")
    return items


def _label(items: list[tuple[str, bool, float]]) -> str:
    weights = torch.tensor([w for _, _, w in items])
    return describe_mix(weights / weights.sum(), [name if is_known else Path(name).stem for name, is_known, _ in items])


def painting_style(net, card: ModelCard, spec: str | Mapping | None) -> tuple[torch.Tensor, str]:
    """The style vector that a model painting any painting gets from ``style=``: a painting file, one of its known
    styles by name, or a weighted mix of them (``starry_night:0.5,my/painting.jpg:0.5``: the mix of their vectors);
    and the name of what it paints. Each painting is encoded once, here."""
    from fst.data.styles import load_style_image
    from fst.models.arbitrary_net import ENCODER_SIZE

    items = _paintings(card, spec)
    total = sum(w for _, _, w in items)
    mix = 0
    for name, is_known, weight in items:
        if is_known:
            vector = net.style_vector(net.known_statistics[card.style_names.index(name)][None])[0].detach()
        else:
            vector = net.encode(load_style_image(name, ENCODER_SIZE, option="style"))
        mix = mix + weight / total * vector
    return mix, _label(items)


def style_label(card: ModelCard, spec) -> str:
    """The name of what ``style=`` paints with this model (for output names), checked, without loading the model."""
    return _label(_paintings(card, spec)) if card.arbitrary else chosen_style(card, spec)[1]


def _weight(spec, name: str, weight: str) -> float:
    try:
        value = float(weight)
    except ValueError:
        raise FstError(f"style={spec}: the weight of '{name}' is not a number: {weight!r}") from None
    if not math.isfinite(value) or value < 0:
        raise FstError(f"style={spec}: weights must be >= 0 and finite, got {name}:{weight}")  # inf: NaN mixes
    return value


def chosen_style(card: ModelCard, spec, required: bool = True, net=None) -> tuple[torch.Tensor | None, str]:
    """The style weights ``style=`` asks of a multi-style model (None for a one-style model), and the name of what
    it will paint. ``required=False`` lets a multi-style model go without ``style=`` (as itself, every style kept).
    A model that paints any painting needs its network ``net`` to encode the painting (:func:`painting_style`)."""
    if card.arbitrary:
        if net is None:
            raise ValueError("a model that paints any painting needs its network to encode style=")
        return painting_style(net, card, spec)
    if not card.multi_style:
        if spec is not None and spec != card.name:
            raise FstError(f"style={spec}: this model paints one style, {card.name}; drop style= or pick a multi-style model")
        return None, card.name
    if spec is None and not required:
        return None, card.name
    weights = style_weights(spec, card.style_names)
    return weights, describe_mix(weights, card.style_names)
