"""How INT8 quantization moves a style model's output, layer by layer and as shipped (prints tables; not a test).

    python tools/benchmark_int8.py --ckpt candy                  # per-layer sensitivity and the candidates
    python tools/benchmark_int8.py --ckpt candy --sizes 512 1024 --skip-layers
    python tools/benchmark_int8.py --ckpt candy --figure docs/int8_crop.jpg --figure-photo photo.jpg   # only the figure

For every convolution, the model with only that layer in INT8: its mean absolute difference (MAD, in [0, 1]) to
the fp32 output on the photos. Then the candidate recipes (every convolution, fst's choice, ...) with their MAD
and ONNX Runtime latency per size. fst.export.quantize.KEEP_FLOAT is the recipe these numbers chose. --figure writes a crop of one photo side by
side: fp32, fst's INT8, and their difference times 10.
Calibration uses --calibration (default: the configured eval folder); the MAD is measured on --photos.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import onnx
import torch

from fst.config import compose
from fst.data.images import load_image, require_image_folder, save_image
from fst.export.formats import export_onnx
from fst.export.quantize import KEEP_FLOAT, METHOD, conv_layers, quantize_onnx
from fst.inference.onnx_runtime import OnnxNetwork
from fst.models import load_style_model, resolve_model


def mad(run, photos: list[torch.Tensor], references: list[torch.Tensor]) -> float:
    return statistics.mean((run(x).clamp(0, 1) - ref).abs().mean().item() for x, ref in zip(photos, references))


def latency(run, image: torch.Tensor, repeats: int) -> float:
    run(image)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(image)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def write_figure(path: Path, photo: torch.Tensor, fp32, int8, crop: int = 256) -> None:
    """fp32 | int8 | |difference| x 10 of the photo's central ``crop`` px, side by side."""
    with torch.inference_mode():
        reference, quantized = fp32(photo).clamp(0, 1), int8(photo).clamp(0, 1)
    height, width = photo.shape[-2:]
    top, left = (height - crop) // 2, (width - crop) // 2
    panels = [image[0, :, top:top + crop, left:left + crop] for image in (reference, quantized, ((quantized - reference).abs() * 10).clamp(0, 1))]
    gap = torch.ones(3, crop, 8)
    save_image(torch.cat([panels[0], gap, panels[1], gap, panels[2]], dim=-1), path)
    print(f"wrote {path}: mean absolute difference {(quantized - reference).abs().mean():.4f} over the whole photo")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", default="candy", help="a style model: a shipped name or a file")
    parser.add_argument("--calibration", help="calibration photos (default: the configured eval folder)")
    parser.add_argument("--photos", help="photos the difference is measured on (default: --calibration)")
    parser.add_argument("--calibration-size", type=int, default=256)
    parser.add_argument("--sizes", nargs="+", type=int, default=[512], help="long sides the candidates are measured at")
    parser.add_argument("--layer-size", type=int, default=384, help="long side for the per-layer table")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-layers", action="store_true", help="only the candidate recipes")
    parser.add_argument("--figure", type=Path, help="write only the side-by-side crop (fp32, int8, difference x10) here")
    parser.add_argument("--figure-photo", type=Path, help="the figure's photo (default: the first of --photos)")
    parser.add_argument("--figure-size", type=int, default=512, help="the figure's photo is stylized at this long side")
    args = parser.parse_args()

    calibration = args.calibration or compose("stylize", ["ckpt=x", "input=x"]).calibration
    photo_paths = require_image_folder(args.photos or calibration, "--photos")
    net, card = load_style_model(resolve_model(args.ckpt))
    net = net.float().eval()
    style = (torch.eye(net.num_styles)[:1],) if card.multi_style else ()

    def photos_at(size: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        photos = [load_image(p, size)[None] for p in photo_paths]
        with torch.inference_mode():
            return photos, [net(x, *style).clamp(0, 1) for x in photos]

    with tempfile.TemporaryDirectory(prefix="fst-int8-bench-") as work:
        float_model = Path(work) / "fp32.onnx"
        export_onnx(net, float_model, card, torch.float32, 18)
        layers = conv_layers(onnx.load(str(float_model)))

        def int8(name: str, **recipe) -> OnnxNetwork:
            path = Path(work) / f"{name}.onnx"
            quantize_onnx(float_model, path, card, calibration, args.calibration_size, **recipe)
            session = OnnxNetwork(path)
            return lambda x: session(x, *style)

        if args.figure:
            photo = load_image(args.figure_photo or photo_paths[0], args.figure_size)[None]
            write_figure(args.figure, photo, lambda x: net(x, *style), int8("fst"))
            return
        print(f"{card.name}: {len(layers)} convolutions; calibration {calibration} at {args.calibration_size} px; "
              f"MAD on {len(photo_paths)} photos")
        if not args.skip_layers:
            photos, references = photos_at(args.layer_size)
            print(f"\n| layer | role | MAD with only this layer in INT8 ({args.layer_size} px) |\n|---|---|---|")
            for node, (module, role) in layers.items():
                others = tuple(n for n in layers if n != node)
                print(f"| {module} | {role} | {mad(int8(node, keep_float=(), keep_nodes=others), photos, references):.4f} |", flush=True)

        fp32 = OnnxNetwork(float_model)
        candidates = {
            "ONNX Runtime fp32": lambda x: fp32(x, *style),
            "INT8, every convolution, MinMax": int8("all", keep_float=(), method="MinMax"),
            "INT8, every convolution, Percentile": int8("all_percentile", keep_float=()),
            f"INT8, float: {', '.join(KEEP_FLOAT)}, MinMax": int8("fst_minmax", method="MinMax"),
            f"INT8, float: {', '.join(KEEP_FLOAT)}, {METHOD} (fst)": int8("fst"),
        }
        print("\n| recipe | size | MAD to fp32 | latency (s) |\n|---|---|---|---|")
        for size in args.sizes:
            photos, references = photos_at(size)
            for name, run in candidates.items():
                print(f"| {name} | {size} | {mad(run, photos, references):.4f} | {latency(run, photos[0], args.repeats):.3f} |", flush=True)


if __name__ == "__main__":
    main()
