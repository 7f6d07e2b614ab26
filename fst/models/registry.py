"""The architecture registry: a model card's ``architecture`` key names the builder of its network.

A new kind of style network is one decorated class::

    @register_architecture("my_net")
    class MyNet(nn.Module):
        def __init__(self, **options): ...   # ``self.config`` must rebuild it: MyNet(**net.config)
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from fst.errors import FstError

_ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {}


def register_architecture(key: str):
    """Class decorator: build networks with this key from a card's ``network`` options."""

    def decorate(cls):
        if key in _ARCHITECTURES and _ARCHITECTURES[key] is not cls:
            raise ValueError(f"architecture {key!r} is already registered to {_ARCHITECTURES[key].__name__}")
        _ARCHITECTURES[key] = cls
        cls.architecture = key
        return cls

    return decorate


def architectures() -> list[str]:
    return sorted(_ARCHITECTURES)


def architecture_of(net: nn.Module) -> str:
    """The registry key of a network's class."""
    key = getattr(type(net), "architecture", None)
    if key not in _ARCHITECTURES:
        raise ValueError(f"{type(net).__name__} is not a registered architecture; decorate it with @register_architecture")
    return key


def build_network(architecture: str, options: dict) -> nn.Module:
    """A new network of the registered ``architecture`` with ``options`` (a card's ``network``)."""
    try:
        builder = _ARCHITECTURES[architecture]
    except KeyError:
        raise FstError(f"unknown architecture {architecture!r}; this fst knows: {', '.join(architectures())}") from None
    try:
        return builder(**options)
    except (TypeError, ValueError) as exc:
        raise FstError(f"invalid {architecture} options {options}: {exc}") from None
