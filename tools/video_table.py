"""The video table of the README and docs/video.md from tools/evaluate_video.py's results, one folder per style: for
each style, today's model per frame (warping error, style and content loss, frames/s), then the model retrained
for video per frame and the video path (the retrained model with temporal=flow) as ratios of it, and their mean.

    python tools/video_table.py video_check/candy video_check/udnie --strength 0.25 > table.md
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fst.models import read_card, resolve_model

COLUMNS = ("warping_error", "style", "content", "fps")


def ratios(method: dict, base: dict) -> list[float]:
    return [method[key] / base[key] for key in COLUMNS]


def rows(folders: list[Path], strength: float) -> list[tuple[str, dict, list[float], list[float]]]:
    """(style, today's per-frame numbers, retrained per frame as ratios of them, the video path as ratios)."""
    found = []
    for folder in folders:
        results = json.loads((folder / "results.json").read_text())
        methods = results["methods"]
        video_path = f"temporal model + flow {strength:g}"
        missing = [m for m in ("per-frame", "temporal model", video_path) if m not in methods]
        if missing:
            raise SystemExit(f"{folder / 'results.json'}: no {', '.join(missing)}; run tools/evaluate_video.py with "
                             f"--temporal-ckpt and --strengths {strength:g}")
        base = methods["per-frame"]
        style = read_card(resolve_model(results["ckpt"])).name
        found.append((style, base, ratios(methods["temporal model"], base), ratios(methods[video_path], base)))
    return found


def table(found: list[tuple[str, dict, list[float], list[float]]], strength: float) -> str:
    lines = [
        f"| style | today's model per frame: warping error (x1000), style, content, frames/s | retrained, per frame: "
        f"warping error, style, content, frames/s | video path (retrained + `temporal=flow`, strength {strength:g}) |",
        "| --- | --- | --- | --- |",
    ]

    def relative(values: list[float]) -> str:
        warp, style, content, fps = values
        return f"{warp:.2f}x, {style - 1:+.1%}, {content - 1:+.1%}, {fps:.2f}x"

    for style, base, retrained, video_path in found:
        today = f"{1000 * base['warping_error']:.2f}, {base['style']:.3f}, {base['content']:.3f}, {base['fps']:.1f}"
        lines.append(f"| {style} | {today} | {relative(retrained)} | {relative(video_path)} |")
    if len(found) > 1:
        def mean(values: list[list[float]]) -> list[float]:
            return [sum(column) / len(values) for column in zip(*values)]

        retrained, video_path = mean([r[2] for r in found]), mean([r[3] for r in found])
        lines.append(f"| **mean of {len(found)}** | | {relative(retrained)} | {relative(video_path)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", type=Path, nargs="+", help="tools/evaluate_video.py --output folders, one per style")
    parser.add_argument("--strength", type=float, default=0.25, help="the video path's temporal.strength")
    args = parser.parse_args()
    absent = [str(f) for f in args.folders if not (f / "results.json").is_file()]
    if absent:
        sys.exit(f"no results.json in {', '.join(absent)}: pass tools/evaluate_video.py's --output folders")
    print(table(rows(args.folders, args.strength), args.strength))


if __name__ == "__main__":
    main()
