"""The video table of the README and docs/video.md from tools/evaluate_video.py's results, one folder per style: for
each style, the model before its video fine-tune per frame (warping error, style and content loss), then the
fine-tuned model per frame and the video path (the fine-tuned model with temporal=flow) as ratios of it, and their
mean. The last row's frames/s come from one more run (--speed), made with nothing else on the machine: every shipped
style has the same network, and a frame rate measured beside a training says more about the training than about
the method.

    python tools/video_table.py video_check/candy video_check/udnie --strength 0.25 --speed video_speed/candy > table.md
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

COLUMNS = ("warping_error", "style", "content")


def ratios(method: dict, base: dict) -> list[float]:
    return [method[key] / base[key] for key in COLUMNS]


def video_path_name(strength: float) -> str:
    return f"temporal model + flow {strength:g}"


def methods_of(folder: Path, strength: float) -> dict:
    """The methods of evaluate_video.py's results.json in ``folder``, checked for the three the table compares."""
    methods = json.loads((folder / "results.json").read_text())["methods"]
    missing = [m for m in ("per-frame", "temporal model", video_path_name(strength)) if m not in methods]
    if missing:
        raise SystemExit(f"{folder / 'results.json'}: no {', '.join(missing)}; run tools/evaluate_video.py with "
                         f"--temporal-ckpt and --strengths {strength:g}")
    return methods


def rows(folders: list[Path], strength: float) -> list[tuple[str, dict, list[float], list[float]]]:
    """(style: the folder's name, the per-frame numbers before the fine-tune, fine-tuned per frame as ratios of
    them, the video path as ratios)."""
    found = []
    for folder in folders:
        methods = methods_of(folder, strength)
        base = methods["per-frame"]
        found.append((folder.name, base, ratios(methods["temporal model"], base), ratios(methods[video_path_name(strength)], base)))
    return found


def table(found: list[tuple[str, dict, list[float], list[float]]], strength: float) -> str:
    lines = [
        f"| style | before the video fine-tune, per frame: warping error (x1000), style, content | fine-tuned, per "
        f"frame: warping error, style, content | video path (fine-tuned + `temporal=flow`, strength {strength:g}) |",
        "| --- | --- | --- | --- |",
    ]

    def relative(values: list[float]) -> str:
        warp, style, content = values
        return f"{warp:.2f}x, {style - 1:+.1%}, {content - 1:+.1%}"

    for style, base, retrained, video_path in found:
        before = f"{1000 * base['warping_error']:.2f}, {base['style']:.3f}, {base['content']:.3f}"
        lines.append(f"| {style} | {before} | {relative(retrained)} | {relative(video_path)} |")
    if len(found) > 1:
        def mean(values: list[list[float]]) -> list[float]:
            return [sum(column) / len(values) for column in zip(*values)]

        retrained, video_path = mean([r[2] for r in found]), mean([r[3] for r in found])
        lines.append(f"| **mean of {len(found)}** | | {relative(retrained)} | {relative(video_path)} |")
    return "\n".join(lines)


def speed_row(folder: Path, strength: float) -> str:
    """The table's last row: frames/s of the three methods in one run made alone on the machine."""
    methods = methods_of(folder, strength)
    base = methods["per-frame"]["fps"]
    retrained, video_path = (methods[name]["fps"] / base for name in ("temporal model", video_path_name(strength)))
    return f"| **frames/s** ({folder.name}, run alone) | {base:.1f} | {retrained:.2f}x | {video_path:.2f}x |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", type=Path, nargs="+", help="tools/evaluate_video.py --output folders, one per style")
    parser.add_argument("--strength", type=float, default=0.25, help="the video path's temporal.strength")
    parser.add_argument("--speed", type=Path, help="an evaluate_video.py --output folder measured alone on the machine: "
                        "its frames/s, as the table's last row")
    args = parser.parse_args()
    folders = args.folders + ([args.speed] if args.speed else [])
    absent = [str(f) for f in folders if not (f / "results.json").is_file()]
    if absent:
        sys.exit(f"no results.json in {', '.join(absent)}: pass tools/evaluate_video.py's --output folders")
    print(table(rows(args.folders, args.strength), args.strength))
    if args.speed:
        print(speed_row(args.speed, args.strength))


if __name__ == "__main__":
    main()
