"""The app's options: how it serves, what it offers, and how its networks run (the stylizer's options, whose
strength and preserve_color are the page's starting values). ``fst-app --help`` shows the help written here."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any

from fst.errors import FstError
from fst.inference.options import StylizeOptions, option


@dataclass
class AppOptions(StylizeOptions):
    host: str = option("127.0.0.1", "the address to serve on; 0.0.0.0 lets other machines of the network in")
    port: int | None = option(7860, "null: the first free port from 7860 on")
    share: bool = option(False, "a public gradio.live link as well (through Gradio's servers; anyone with the link "
                                "can use the app)")
    models: str | None = option(None, "a folder of your own style models (.safetensors, searched recursively), shown "
                                      "after the shipped ones")
    paintings: str | None = option(None, "a style's thumbnail is its painting <paintings>/<style>.jpg when there, else "
                                         "a sample photo in that style; null: $FST_DATA_DIR/styles when set")
    size: int | None = option(None, "the page's starting output size: the long side in pixels; null keeps the "
                                     "input's size")
    max_upload_mb: float = option(200, "larger uploads are refused before they are stored")
    concurrency: int = option(1, "requests stylized at once (on a CPU one request already uses every core); the rest "
                                 "wait in the queue")
    queue_size: int = option(32, "requests that may wait; more are told to come back later")
    keep_minutes: float = option(60, "uploads and results are deleted this long after they were made; all of them "
                                     "when the app stops")
    batch_size: int = option(4, "video frames stylized together")
    webcam_size: int = option(320, "the long side of the live webcam frames, in pixels (smaller is more frames per "
                                   "second)")
    webcam_model: str | None = option(None, "the light network the webcam paints the chosen style (or mix) with, "
                                            "when it paints it (fst-models lists them); null: the chosen model itself")
    # The options of fst.inference.temporal.TemporalBlend for the page's "steady paint" box; None hides the box.
    temporal: Any = None

    def check(self) -> None:
        super().check()
        if self.port is not None and not 0 < self.port < 65536:
            raise FstError(f"port must be between 1 and 65535, got {self.port}")
        for name in ("size", "max_upload_mb", "concurrency", "queue_size", "keep_minutes", "batch_size", "webcam_size"):
            value = getattr(self, name)
            if not (value is None and name == "size") and not (value is not None and value > 0):
                raise FstError(f"{name} must be > 0, got {value}")
        # The app builds a network per request, so each request would compile it again.
        if self.compile:
            raise FstError("compile=true does not suit the app: it builds the network anew for every request and "
                           "would compile it each time; leave compile=false")

    @property
    def painting_folder(self) -> str | None:
        data = os.environ.get("FST_DATA_DIR")
        return self.paintings if self.paintings is not None else f"{data}/styles" if data else None

    def stylizer_options(self, **changes) -> StylizeOptions:
        """The stylizer's options of this app, with the page's choices (``changes``) applied."""
        values = {item.name: getattr(self, item.name) for item in fields(StylizeOptions)}
        return StylizeOptions(**{**values, **changes})
