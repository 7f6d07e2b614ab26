"""User-facing errors: one clear line, no stack trace."""

from __future__ import annotations

import re


class FstError(Exception):
    """A mistake in the user's input (a file, an option). The message names it and the fix."""


def one_line_reason(exc: BaseException) -> str:
    """The most telling single line of a library's error message (many run to 10 lines)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


# The first bytes of files people pass by mistake where a weights file belongs.
_SIGNATURES = [
    (b"\xff\xd8\xff", "a JPEG image"), (b"\x89PNG", "a PNG image"), (b"GIF8", "a GIF image"), (b"BM", "a BMP image"),
    (b"RIFF", "a RIFF file (a WebP image or an AVI video)"), (b"\x1aE\xdf\xa3", "a Matroska or WebM video"),
    (b"%PDF", "a PDF document"), (b"\x08", "an ONNX model or another protobuf file"),
]


def why_unloadable(path, exc: BaseException) -> str:
    """Why ``torch.load(path, weights_only=True)`` failed, in words for the person who passed ``path``.

    torch's own message advises loading with ``weights_only=False``, which would run whatever code the file
    holds: fst never does, and never gives that advice.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError as error:
        return one_line_reason(error)
    if not head:
        return "it is empty"
    if head[4:8] == b"ftyp":
        return "it is an MP4 or MOV video, not a weights file"
    for signature, kind in _SIGNATURES:
        if head.startswith(signature):
            return f"it is {kind}, not a weights file"
    if head.startswith(b"PK\x03\x04") or head[:1] == b"\x80":  # torch's zip format, or a bare pickle
        text = str(exc)
        if "Unsupported global" in text or "Unsupported operand" in text or "WeightsUnpickler" in text:
            return "it holds pickled code or objects besides tensors, which fst never loads"
        return "the file is damaged or cut short"
    return "it is neither a safetensors file nor a PyTorch checkpoint"
