"""Benchmark video stylization on a synthetic clip made from real photos: temporal warping error (Lai et al. 2018),
per-frame content and style losses, and frames per second, for per-frame stylization, flow-based consistency
(temporal=flow), a temporally trained model, and both together. Writes a markdown table, its numbers
(results.json, for tools/video_table.py) and a strip of frames cropped around the moving object (not a test: it
prints numbers).

    FST_DATA_DIR=../shared/data FST_VGG_WEIGHTS=../shared/weights/vgg16_features.safetensors \\
        python tools/evaluate_video.py --ckpt candy --temporal-ckpt runs/candy/temporal/candy.safetensors --strengths 0.3 0.5 0.8
        python tools/evaluate_video.py --ckpt multi_style --style udnie  # one style of a multi-style model

The flow that measures (--measure-flow, Farneback by default) is not the one that blends (DIS), so the
benchmark does not grade the blending with its own yardstick.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from fst.config import compose, options_of, plain
from fst.evaluation.clips import synthetic_clip
from fst.evaluation.measure import style_criterion
from fst.evaluation.video_metrics import VideoResult, frame_losses, timed, warping_error
from fst.inference.device import pick_device
from fst.inference.stylizer import Stylizer
from fst.inference.temporal import FLOWS, TemporalBlend
from fst.inference.video import stylized_frames
from fst.models import load_style_model, read_card, resolve_model
from fst.models.mixing import chosen_style
from fst.options import StylizeOptions

PHOTOS = ["demo_tubingen.jpg", "skimage_chelsea.jpg", "demo_golden_gate.jpg"]


def clip_size(text: str) -> tuple[int, int]:
    """``384x256`` as (width, height); argparse turns the ValueError into a one-line usage error."""
    width, height = (int(v) for v in text.lower().split("x"))
    if min(width, height) < 16:
        raise ValueError(text)
    return width, height


def run_method(name: str, ckpt: str, frames: list[np.ndarray], size: tuple[int, int], strength: float | None,
               options: list[str], style: str | None) -> VideoResult:
    """``ckpt``'s stylization of ``frames`` (in ``style``, for a multi-style model), per frame (``strength`` None)
    or with temporal=flow at ``strength``."""
    net, card = load_style_model(resolve_model(ckpt))
    # temporal=flow for every method, so that temporal.* options apply; per-frame methods build no blend
    cfg = compose("stylize", ["ckpt=x", "input=x", "stroke_size=1", "temporal=flow", *options,
                              *([] if strength is None else [f"temporal.strength={strength}"])])
    stylizer = Stylizer(net, options_of(cfg, StylizeOptions), style=chosen_style(card, style, net=net)[0])
    stylizer(torch.rand(cfg.batch_size, 3, *size))  # warm-up: first-call costs are not the method's speed
    blend = TemporalBlend(**plain(cfg.temporal)) if strength is not None else None
    result = timed(name, lambda: list(stylized_frames(iter(frames), stylizer, cfg.batch_size, size, blend)))
    result.cuts = blend.cuts if blend else None
    return result


def strip(clip, results: list[VideoResult], times: list[int], path: Path) -> None:
    """Rows: a few frames; columns: the input and each method, cropped around the moving object."""
    crops = []
    for t in times:
        box = clip.boxes[t] or clip.boxes[clip.cut - 1]
        left, top, right, bottom = box
        pad = (right - left) // 2
        height, width = clip.frames[t].shape[:2]
        window = (max(0, left - pad), max(0, top - pad), min(width, right + pad), min(height, bottom + pad))
        crops.append([Image.fromarray(f[t]).crop(window).resize((160, 160)) for f in [clip.frames, *(r.frames for r in results)]])
    labels = ["input", *(r.name for r in results)]
    font = ImageFont.load_default(size=11)
    canvas = Image.new("RGB", (len(labels) * 164, 22 + len(times) * 164), "white")
    draw = ImageDraw.Draw(canvas)
    for column, label in enumerate(labels):
        draw.text((column * 164 + 4, 4), label, fill="black", font=font)
    for row, images in enumerate(crops):
        for column, image in enumerate(images):
            canvas.paste(image, (column * 164, 22 + row * 164))
    canvas.save(path, quality=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", default="candy", help="the style model (a shipped name or a file)")
    parser.add_argument("--temporal-ckpt", help="the same style trained with loss.temporal_weight (optional)")
    parser.add_argument("--photos", nargs=3, help="background, moving object, after-the-cut photos")
    parser.add_argument("--style", help="a multi-style model's style (candy), measured with that style's loss")
    parser.add_argument("--frames", type=int, default=48, help="frames of the clip (48: 2 seconds at 24 fps)")
    parser.add_argument("--size", default="384x256", type=clip_size, help="width x height of the clip")
    parser.add_argument("--strengths", type=float, nargs="+", default=[0.5], help="temporal.strength values to measure")
    parser.add_argument("--measure-flow", default="farneback", choices=list(FLOWS), help="the optical flow that measures the warping error")
    parser.add_argument("--output", type=Path, default=Path("video_benchmark"))
    parser.add_argument("overrides", nargs="*", help="stylize options, e.g. device=cpu precision=fp32 temporal.flow=dis_fast")
    args = parser.parse_args()
    width, height = args.size
    eval_dir = Path(os.environ.get("FST_DATA_DIR", "data")) / "content" / "eval"
    photos = [np.asarray(Image.open(p).convert("RGB")) for p in (args.photos or [eval_dir / name for name in PHOTOS])]
    clip = synthetic_clip(photos, args.frames, (height, width))
    methods = [("per-frame", args.ckpt, None), *((f"flow {s}", args.ckpt, s) for s in args.strengths)]
    if args.temporal_ckpt:
        methods += [("temporal model", args.temporal_ckpt, None),
                    *((f"temporal model + flow {s}", args.temporal_ckpt, s) for s in args.strengths)]
    path = resolve_model(args.ckpt)
    card = read_card(path)
    if (card.multi_style or card.arbitrary) and not args.style:
        parser.error(f"--style: {args.ckpt} paints several styles ({', '.join(card.style_names)}); pick one")
    if args.style and args.style not in card.style_names:
        parser.error(f"--style {args.style}: {args.ckpt} paints {', '.join(card.style_names)}")
    style = card.styles[card.style_names.index(args.style) if args.style else 0]
    results = [run_method(name, ckpt, clip.frames, (height, width), strength, args.overrides, args.style)
               for name, ckpt, strength in methods]
    device = pick_device("auto")
    evaluate_cfg = compose("evaluate", ["ckpts=x"])
    # Every method measured against the per-frame model's loss: a retrained model may weigh its style differently.
    criterion = style_criterion(card, style, path, evaluate_cfg, device)
    for result in results:
        result.warping_error = warping_error(clip.frames, result.frames, args.measure_flow, skip={clip.cut - 1})
        result.__dict__.update(frame_losses(criterion, clip.frames, result.frames, device))
    args.output.mkdir(parents=True, exist_ok=True)
    base = results[0]
    lines = [
        f"{args.frames} frames of {width}x{height} (pan, zoom and turn over a photo, a moving disc, a cut), "
        f"{device.type}; warping error measured with {args.measure_flow} flow, x1000",
        "",
        "| method | warping error | vs per-frame | content loss | style loss | style vs per-frame | frames/s | vs per-frame |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {1000 * r.warping_error:.3f} | {r.warping_error / base.warping_error:.2f}x | {r.content:.3f} | "
            f"{r.style:.3f} | {r.style / base.style - 1:+.1%} | {r.fps:.1f} | {r.fps / base.fps:.2f}x |"
        )
    lines += ["", *(f"{r.name}: {r.cuts} scene cut(s) detected (the clip has 1)" for r in results if r.cuts is not None)]
    report = "\n".join(lines)
    print(report)
    (args.output / "report.md").write_text(report + "\n\n![frames](strip.jpg)\n")
    measured = {r.name: {"warping_error": r.warping_error, "content": r.content, "style": r.style, "fps": r.fps, "cuts": r.cuts}
                for r in results}
    (args.output / "results.json").write_text(json.dumps({"ckpt": args.ckpt, "temporal_ckpt": args.temporal_ckpt, "style": style.name,
                                                          "device": device.type, "methods": measured}, indent=1))
    times = [clip.cut // 4, clip.cut // 2, clip.cut - 2, clip.cut + 1]
    strip(clip, results, times, args.output / "strip.jpg")
    print(f"wrote {args.output / 'report.md'}, {args.output / 'results.json'} and {args.output / 'strip.jpg'}")


if __name__ == "__main__":
    main()
