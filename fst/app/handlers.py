"""What the page asks for: each upload checked, the page's options turned into the arguments of ``fst-stylize`` and
run by the same :func:`fst.inference.files.stylize`, the result written into a folder of its own; every mistake becomes
one message in the page."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import secrets
import time
from collections import deque
from pathlib import Path

import gradio as gr
import numpy as np

from fst.api import Model
from fst.app.gallery import StyleModel
from fst.data.images import IMAGE_EXTENSIONS
from fst.errors import FstError, one_line_reason
from fst.inference.files import kind
from fst.inference.video import VIDEO_EXTENSIONS, frame_size, stylized_frames
from fst.models.mixing import chosen_style, mix_parts, style_label
from fst.options import AppOptions, TemporalOptions

log = logging.getLogger(__name__)

PHOTO_FORMATS = {"PNG": ".png", "JPEG": ".jpg"}
MIN_SIZE = 16  # pixels: the smallest output size the page accepts


def output_size(value: str | int | None) -> int | None:
    """The page's output size (``original`` or a long side in pixels) as stylize's ``size``."""
    text = str(value if value is not None else "").strip().lower()
    if text in ("", "original"):
        return None
    if not text.isdigit() or int(text) < MIN_SIZE:
        raise FstError(f"output size '{value}': give the long side in pixels (at least {MIN_SIZE}), or original")
    return int(text)


def _mix(text: str | None) -> str | None:
    """The page's style box as stylize's ``style``: empty means none chosen."""
    return (text or "").strip() or None


PAINTING = "painting"  # the uploaded painting's name in the style box, for a model that paints any painting


def uploaded(upload: dict | str | None) -> Path | None:
    """The server's copy of an upload, from the file data the page sends (or a path)."""
    path = upload.get("path") if isinstance(upload, dict) else upload
    return Path(path) if path else None


class Handlers:
    """The page's requests. Each request builds its own network (no state is shared between users) and writes
    into a new folder with an unguessable name under ``results``."""

    def __init__(self, options: AppOptions, gallery: dict[str, StyleModel], results: Path):
        self.options, self.gallery, self.results = options, gallery, results
        results.mkdir(parents=True, exist_ok=True)

    def photo(self, photo: dict | None, model: str, mix: str, strength: float, preserve_color: bool, size: str,
              format: str, painting: dict | None = None, progress=gr.Progress(track_tqdm=True)) -> str:
        """Stylize an uploaded photo; returns the result's path (PNG or JPEG, at the output size). ``painting``: an
        uploaded painting, for a model that paints any painting (``painting`` in the style box)."""
        source = uploaded(photo)
        with self._answers(source):
            source = self._check(source, "photo", ("image",), IMAGE_EXTENSIONS)
            mix = self._with_painting(model, mix, painting)
            if format not in PHOTO_FORMATS:
                raise FstError(f"format {format}: choose {' or '.join(PHOTO_FORMATS)}")
            progress(0, desc=f"stylizing {source.name}")
            destination = self._destination(source, model, mix, PHOTO_FORMATS[format])
            self._stylize(model, mix, strength, preserve_color, size, source, destination)
            return str(destination)

    def video(self, video: dict | None, model: str, mix: str, strength: float, preserve_color: bool, size: str,
              steady: bool, steadiness: float, painting: dict | None = None,
              progress=gr.Progress(track_tqdm=True)) -> tuple[str | None, str | None]:
        """Stylize an uploaded video or GIF; returns (video, GIF): the result in its slot, None in the other."""
        source = uploaded(video)
        with self._answers(source):
            source = self._check(source, "video or GIF", ("video", "GIF"), (*VIDEO_EXTENSIONS, ".gif"))
            mix = self._with_painting(model, mix, painting)
            steady_options = None
            if steady:
                if self.options.temporal is None:
                    raise FstError("steady paint needs the app started with temporal=flow")
                steady_options = dataclasses.replace(self.options.temporal, strength=float(steadiness))
            gif = kind(source) == "GIF"
            # mp4 (H.264) plays in every browser; webm stays webm (VP9, and its audio, play too).
            suffix = ".gif" if gif else ".webm" if source.suffix.lower() == ".webm" else ".mp4"
            progress(0, desc=f"stylizing {source.name}")
            destination = self._destination(source, model, mix, suffix)
            self._stylize(model, mix, strength, preserve_color, size, source, destination, steady_options)
            return (None, str(destination)) if gif else (str(destination), None)

    def webcam(self, frame: np.ndarray | None, model: str, mix: str, strength: float, preserve_color: bool,
               session: dict | None) -> tuple[np.ndarray | None, str, dict | None]:
        """One webcam frame stylized at ``webcam_size``, and the frames per second of this session's stream."""
        if frame is None:
            return None, "", session
        with self._answers(None):
            key = (model, mix, strength, preserve_color)
            if session is None or session["key"] != key:  # a network per stream, built when its options change
                painter, painted = self.webcam_painter(model, mix)
                stylizer = self._api_model(painter).stylizer(_mix(painted), **self._options(strength, preserve_color))
                session = {"key": key, "stylizer": stylizer, "painter": painter, "times": deque(maxlen=20)}
            height, width = frame_size(*frame.shape[:2], self.options.webcam_size)
            output = next(stylized_frames(iter([frame[..., :3]]), session["stylizer"], 1, (height, width), None))
            times = session["times"]
            times.append(time.perf_counter())
            rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
            return output, f"{rate:.1f} frames/s at {width}x{height} ({session['painter']})", session

    def webcam_painter(self, model: str, mix: str | None) -> tuple[str, str | None]:
        """The model and mix the webcam runs: the light ``webcam_model`` in the chosen style (or mix) when it paints
        every style of it, else the chosen model itself."""
        light = self.options.webcam_model
        chosen = self.model(model).card
        if light is None or light == model or chosen.arbitrary:
            return model, mix
        weights, _ = chosen_style(chosen, _mix(mix))
        painted = {chosen.name: 1.0} if weights is None else {
            name: weight for name, weight in zip(chosen.style_names, weights.tolist()) if weight > 0}
        if not set(painted) <= set(self.model(light).card.style_names):
            return model, mix
        return light, ",".join(f"{name}:{weight:g}" for name, weight in painted.items())

    def _stylize(self, model: str, mix: str | None, strength: float, preserve_color: bool, size: str | int | None,
                 source: Path, destination: Path, temporal: TemporalOptions | None = None) -> None:
        """fst-stylize's work (through the Python API) with the page's options, on the app's stylizer options."""
        self._api_model(model).stylize_file(source, destination, style=_mix(mix), size=output_size(size),
                                            batch_size=self.options.batch_size, temporal=temporal or False,
                                            **self._options(strength, preserve_color))

    def _options(self, strength: float, preserve_color: bool) -> dict:
        changed = self.options.stylizer_options(strength=float(strength), preserve_color=bool(preserve_color))
        return dataclasses.asdict(changed)

    def _api_model(self, name: str) -> Model:
        """A gallery model as an API model of its own for this request (requests share no state)."""
        entry = self.model(name)
        return Model(entry.path, entry.card)

    def model(self, name: str) -> StyleModel:
        if name not in self.gallery:
            raise FstError(f"no style model '{name}' in this app; pick one of the gallery: {', '.join(self.gallery)}")
        return self.gallery[name]

    def _check(self, source: Path | None, what: str, kinds: tuple[str, ...], extensions: tuple[str, ...]) -> Path:
        if source is None:
            raise FstError(f"no {what} yet: drop one into the {what} box first")
        if kind(source) not in kinds:
            other = {"image": "a photo: use the Photo tab", "video": "a video: use the Video tab",
                     "GIF": "a GIF: use the Video tab"}.get(kind(source))
            raise FstError(f"{source.name} is {other}" if other else
                           f"{source.name} is not a {what} that fst reads; give a file of {', '.join(extensions)}")
        return source

    def _with_painting(self, model: str, mix: str | None, painting: dict | None) -> str | None:
        """The style box with ``painting`` standing for the uploaded painting's file (the painting alone when the box is
        empty), for a model that paints any painting; only an upload can be a painting file, never a server path."""
        if not self.model(model).card.arbitrary:
            return mix
        upload = uploaded(painting)
        spec = _mix(mix) or (PAINTING if upload else None)
        parts = mix_parts(spec) if spec else []
        if any(name == PAINTING for name, _ in parts):
            self._check(upload, "painting", ("image",), IMAGE_EXTENSIONS)
        known = set(self.model(model).styles) | {PAINTING}
        for name, _ in parts:
            if name not in known:
                raise FstError(f"style box: '{name}' is not one of this model's styles ({', '.join(sorted(known))}); "
                               f"'{PAINTING}' is the painting you upload")
        return ",".join(f"{upload if name == PAINTING else name}:{weight}" for name, weight in parts) or None

    def _destination(self, source: Path, model: str, mix: str | None, suffix: str) -> Path:
        painted = style_label(self.model(model).card, _mix(mix))
        # stylize makes the folder; its random name keeps one user's results out of another's reach
        return self.results / secrets.token_urlsafe(16) / f"{source.stem}_{painted}{suffix}"

    @contextlib.contextmanager
    def _answers(self, upload: Path | None):
        """Every error as one message in the page, naming the uploaded file by its name, never by the server's path."""
        def plain(message: str) -> str:
            return message.replace(f"{upload.parent}/", "") if upload else message

        try:
            yield
        except FstError as exc:
            raise gr.Error(plain(str(exc)), print_exception=False) from None
        except Exception as exc:  # a bug or the machine (out of memory, ...): the traceback goes to the server's log
            log.exception("fst: a request failed")
            raise gr.Error(plain(f"stylizing failed: {one_line_reason(exc)}"), print_exception=False) from None
