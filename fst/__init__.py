"""fst: fast neural style transfer (feed-forward style networks trained against a VGG perceptual loss).

The Python API (:mod:`fst.api`)::

    import fst
    candy = fst.load("candy")                      # fst.list_models() names the shipped ones
    painted = candy.stylize(Image.open("photo.jpg"), strength=0.8)

Its names load on first use, so that ``import fst`` (and every command's ``--help``) stays quick.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.2.0"

_API = {
    "list_models": "fst.api", "load": "fst.api", "Model": "fst.api", "train": "fst.api",
    "FstError": "fst.errors", "StylizeOptions": "fst.options", "TemporalOptions": "fst.options",
}
__all__ = ["FstError", "Model", "StylizeOptions", "TemporalOptions", "list_models", "load", "train"]

if TYPE_CHECKING:
    from fst.api import Model, list_models, load, train
    from fst.errors import FstError
    from fst.options import StylizeOptions, TemporalOptions


def __getattr__(name: str):
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'fst' has no attribute {name!r}")
