"""Video and animated-GIF stylization: decode, stylize in batches, encode at the same rate and size."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageSequence
from tqdm import tqdm

from fst.data.images import ImageLoadError
from fst.errors import FstError, one_line_reason
from fst.inference.temporal import TemporalBlend
from fst.io import atomic_path

# Container formats PyAV (bundled FFmpeg) writes, with the video codec used for each.
VIDEO_FORMATS = {
    ".mp4": ("mp4", "libx264"),
    ".m4v": ("mp4", "libx264"),
    ".mov": ("mov", "libx264"),
    ".mkv": ("matroska", "libx264"),
    ".webm": ("webm", "libvpx-vp9"),
    ".avi": ("avi", "mpeg4"),
}
VIDEO_EXTENSIONS = tuple(VIDEO_FORMATS)

Stylize = Callable[[torch.Tensor], torch.Tensor]


def _to_tensor(frames: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float().div_(255)


def _to_uint8(images: torch.Tensor) -> np.ndarray:
    return images.mul(255).round_().clamp_(0, 255).byte().permute(0, 2, 3, 1).numpy()


def _batches(frames: Iterator[np.ndarray], size: int) -> Iterator[list[np.ndarray]]:
    batch = []
    for frame in frames:
        batch.append(frame)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _set_frame_size(stream, codec: str, width: int, height: int) -> None:
    stream.width, stream.height = width, height
    # 4:2:0 chroma needs even sides; odd-sized videos keep full chroma instead.
    even = width % 2 == 0 and height % 2 == 0
    stream.pix_fmt = "yuv420p" if even or codec != "libx264" else "yuv444p"


def frame_size(height: int, width: int, long_side: int | None) -> tuple[int, int]:
    """The output (height, width) for ``size=``: long side ``long_side``, both sides even (for 4:2:0 video)."""
    if not long_side:
        return height, width
    scale = long_side / max(height, width)
    return max(2, round(height * scale / 2) * 2), max(2, round(width * scale / 2) * 2)


def _resize(frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(frames.shape[-2:]) == size:
        return frames
    return F.interpolate(frames, size=size, mode="bilinear", antialias=True, align_corners=False)


def stylized_frames(
    frames: Iterator[np.ndarray], stylize: Stylize, batch_size: int, size: tuple[int, int], blend: TemporalBlend | None
) -> Iterator[np.ndarray]:
    """Each (H, W, 3) uint8 frame stylized at ``size`` (height, width), batch by batch; with ``blend``, made
    consistent with the frames before it (the network's batches run ahead of the sequential blend)."""
    for batch in _batches(frames, batch_size):
        inputs = _resize(_to_tensor(batch), size)
        outputs = stylize(inputs)
        if blend is None:
            yield from _to_uint8(outputs)
            continue
        for frame, stylized in zip(_to_uint8(inputs), outputs.permute(0, 2, 3, 1).numpy()):
            yield _to_uint8(torch.from_numpy(blend(frame, stylized)).permute(2, 0, 1)[None])[0]


def stylize_video(
    source: Path, destination: Path, stylize: Stylize, batch_size: int, long_side: int | None,
    blend: TemporalBlend | None = None,
) -> int:
    """Stylize every frame of ``source`` into ``destination`` (resized to ``long_side`` if given; temporally
    consistent with ``blend``); audio is copied unchanged. Returns the frame count."""
    import av

    try:
        container = av.open(str(source))
    except (av.FFmpegError, OSError) as exc:
        raise FstError(f"cannot read video {source}: {one_line_reason(exc)}") from None
    with container:
        if not container.streams.video:
            raise FstError(f"{source} has no video stream")
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        rate = video.average_rate or video.guessed_rate or Fraction(25)
        format, codec = VIDEO_FORMATS.get(destination.suffix.lower(), VIDEO_FORMATS[".mp4"])
        total = video.frames or None
        written = 0
        with atomic_path(destination) as tmp, av.open(tmp, "w", format=format) as output:
            stream = output.add_stream(codec, rate=rate)
            height, width = frame_size(video.codec_context.height, video.codec_context.width, long_side)
            _set_frame_size(stream, codec, width=width, height=height)
            if codec == "libx264":
                stream.options = {"crf": "18"}
            audio_out = output.add_stream_from_template(audio) if audio is not None else None

            def frames() -> Iterator[np.ndarray]:
                for packet in container.demux(*(s for s in (video, audio) if s is not None)):
                    if packet.stream is audio:
                        if packet.dts is not None:
                            packet.stream = audio_out
                            output.mux(packet)
                        continue
                    for frame in packet.decode():
                        yield frame.to_ndarray(format="rgb24")

            try:
                with tqdm(total=total, unit="frame", desc=source.name) as progress:
                    for array in stylized_frames(frames(), stylize, batch_size, (height, width), blend):
                        frame = av.VideoFrame.from_ndarray(array, format="rgb24")
                        frame.pts = written
                        frame.time_base = 1 / rate
                        output.mux(stream.encode(frame))
                        written += 1
                        progress.update(1)
                output.mux(stream.encode(None))
            except av.FFmpegError as exc:
                raise FstError(f"cannot decode video {source}: {one_line_reason(exc)}") from None
    if written == 0:
        raise FstError(f"cannot read video {source}: it has no decodable frames")
    return written


def stylize_gif(
    source: Path, destination: Path, stylize: Stylize, batch_size: int, long_side: int | None,
    blend: TemporalBlend | None = None,
) -> int:
    """Stylize an animated GIF frame by frame, keeping each frame's duration and the loop count."""
    frames, durations = [], []
    try:
        with Image.open(source) as gif:
            for frame in ImageSequence.Iterator(gif):
                frames.append(np.asarray(frame.convert("RGB")))
                durations.append(frame.info.get("duration", 100))
            loop = gif.info.get("loop", 0)
    except Exception as exc:  # Pillow's many error types, as in open_rgb
        raise ImageLoadError(f"cannot read image {source}: {one_line_reason(exc)}") from None
    size = frame_size(*frames[0].shape[:2], long_side)
    stylized = [Image.fromarray(array) for array in stylized_frames(iter(frames), stylize, batch_size, size, blend)]
    with atomic_path(destination) as tmp:
        stylized[0].save(tmp, format="GIF", save_all=True, append_images=stylized[1:], duration=durations, loop=loop)
    return len(stylized)
