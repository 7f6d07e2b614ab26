"""A generated corpus of broken and unusual image files, for fault-injection tests."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from conftest import random_image


def _encoded(format: str, size=(40, 32), mode="RGB", **options) -> bytes:
    buffer = io.BytesIO()
    random_image(size, mode=mode).save(buffer, format=format, **options)
    return buffer.getvalue()


def _png_claiming_size(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge image (the classic decompression bomb shape)."""
    data = bytearray(_encoded("PNG"))
    ihdr = 8 + 8  # signature, then length + type of the IHDR chunk
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr - 4 : ihdr + 13]))
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    return bytes(data)


def _png_with_damaged_data() -> bytes:
    data = bytearray(_encoded("PNG"))
    start = data.index(b"IDAT") + 4
    data[start + 10 : start + 30] = b"\x00" * 20
    return bytes(data)


def bad_files() -> dict[str, bytes]:
    """At least 30 files with image extensions that no decoder can turn into a picture."""
    rng = np.random.default_rng(7)
    jpeg, png, webp, bmp = _encoded("JPEG"), _encoded("PNG"), _encoded("WEBP"), _encoded("BMP")
    files = {f"zero_byte.{ext}": b"" for ext in ["jpg", "jpeg", "png", "webp", "bmp"]}
    files |= {f"random_bytes.{ext}": rng.bytes(2000) for ext in ["jpg", "jpeg", "png", "webp", "bmp"]}
    files |= {
        "text.jpg": b"hello, this is not a photo\n",
        "page.png": b"<!doctype html><html><body>404 Not Found</body></html>",
        "data.webp": b'{"an": "api error"}',
    }
    for fraction in (0.1, 0.5, 0.9):
        files[f"truncated_{int(fraction * 100)}.jpg"] = jpeg[: int(len(jpeg) * fraction)]
        files[f"truncated_{int(fraction * 100)}.png"] = png[: int(len(png) * fraction)]
    files["truncated.webp"] = webp[: len(webp) // 2]
    files["truncated.bmp"] = bmp[: len(bmp) // 2]
    files |= {
        "jpeg_header_only.jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
        "png_signature_only.png": b"\x89PNG\r\n\x1a\n",
        "png_header_only.png": png[:33],
        "gif_in_disguise.png": b"GIF89a\x01\x00\x01\x00",
        "bmp_header_only.bmp": bmp[:14],
        "riff_header_only.webp": b"RIFF\x10\x00\x00\x00WEBPVP8 ",
        "bomb_header.png": _png_claiming_size(100_000, 100_000),
        "bomb_pixels.png": _png_claiming_size(12_000, 12_000),
        "damaged_idat.png": _png_with_damaged_data(),
    }
    return files


def unusual_good_files() -> dict[str, bytes]:
    """Valid images in the modes and layouts that trip naive loaders; all must load as RGB."""
    exif_image = random_image((40, 24))
    exif = exif_image.getexif()
    exif[0x0112] = 6
    exif_buffer = io.BytesIO()
    exif_image.save(exif_buffer, format="JPEG", exif=exif)
    deep = io.BytesIO()
    Image.fromarray((np.arange(40 * 32, dtype=np.uint16).reshape(32, 40) * 50)).save(deep, format="PNG")
    palette = io.BytesIO()
    random_image((40, 32)).convert("P").save(palette, format="PNG", transparency=0)
    return {
        "cmyk.jpg": _encoded("JPEG", mode="CMYK"),
        "sixteen_bit.png": deep.getvalue(),
        "palette_transparent.png": palette.getvalue(),
        "grayscale.jpg": _encoded("JPEG", mode="L"),
        "exif_rotated.jpg": exif_buffer.getvalue(),
        "gray_alpha.png": _encoded("PNG", mode="LA"),
        "rgba.png": _encoded("PNG", mode="RGBA"),
        "one_bit.bmp": _encoded("BMP", mode="1"),
    }


def write_corpus(folder: Path, good: int = 6) -> tuple[list[Path], list[Path]]:
    """Write bad, unusual and plain files into ``folder``; return (bad paths, readable paths)."""
    folder.mkdir(parents=True, exist_ok=True)
    bad = []
    for name, data in bad_files().items():
        (folder / name).write_bytes(data)
        bad.append(folder / name)
    readable = []
    for name, data in unusual_good_files().items():
        (folder / name).write_bytes(data)
        readable.append(folder / name)
    for i in range(good):
        random_image((48, 40), seed=200 + i).save(folder / f"photo{i}.jpg")
        readable.append(folder / f"photo{i}.jpg")
    return bad, readable
