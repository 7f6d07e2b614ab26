"""Validation losses against wall-clock minutes of training, beside a reference model (plots and prints; not a test).

    python tools/plot_curves.py \\
        --curve "udnie:adapted=runs/udnie/adapt" --curve "udnie:per-style=runs/udnie/per_style" \\
        --curve "the_scream:adapted=runs/the_scream/adapt" --output docs/adaptation.png

Each --curve is STYLE:LABEL=RUN: a training run folder (its csv/metrics.csv, written by logger=csv) or such a
metrics .csv file, whose validation losses (`val/content`, `val/style`) and training time (`time/train_minutes`,
logged at every validation) make one line. Each style is measured against a reference model, by default the
shipped one-style model of that name (--reference STYLE=MODEL for another): its evaluated means (`evaluate.py
record=true`) are drawn as a point at its training time, with a dashed line 15 % above them. The table printed
says when each curve first came within 15 % of the reference in both losses.

The runs' validation should use the photos the reference was evaluated on (`data.eval_max_images` large enough
for the whole eval folder) at the same size.
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass
from pathlib import Path

from fst.commands.cli import exit_on_user_error
from fst.errors import FstError
from fst.models import read_card, resolve_model

TOLERANCE = 0.15  # "within 15 %"
LOSSES = ("content", "style")


@dataclass
class Curve:
    style: str
    label: str
    minutes: list[float]
    losses: dict[str, list[float]]  # content and style, one value per validation


def parse_curve(spec: str) -> tuple[str, str, Path]:
    head, sep, run = spec.partition("=")
    style, colon, label = head.partition(":")
    if not (sep and colon and style and label and run):
        raise FstError(f"--curve {spec}: expected STYLE:LABEL=RUN_FOLDER, e.g. udnie:adapted=runs/udnie/adapt")
    return style.strip(), label.strip(), Path(run.strip())


def read_curve(style: str, label: str, run: Path) -> Curve:
    """The validations of ``run`` that logged both losses and the training time, in step order."""
    path = run if run.suffix == ".csv" else run / "csv" / "metrics.csv"
    if not path.is_file():
        raise FstError(f"--curve {style}:{label}: no {path}; train with logger=csv (the default of the experiments)")
    by_step: dict[int, dict[str, float]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            values = {key: float(value) for key, value in row.items() if value not in ("", None)}
            by_step.setdefault(int(values["step"]), {}).update(values)
    keys = ("time/train_minutes", "val/content", "val/style")
    points = [values for _, values in sorted(by_step.items()) if all(k in values for k in keys)]
    if not points:
        raise FstError(f"--curve {style}:{label}: {path} has no validation with its training time (time/train_minutes)")
    return Curve(style, label, [p["time/train_minutes"] for p in points], {m: [p[f"val/{m}"] for p in points] for m in LOSSES})


@dataclass
class Reference:
    name: str
    minutes: float
    losses: dict[str, float]


def read_reference(style: str, model: str | None) -> Reference:
    card = read_card(resolve_model(model or style, option=f"--reference {style}"))
    evaluation = (card.evaluation or {}).get(style)
    if evaluation is None:
        raise FstError(f"--reference {style}: model {card.name} has no evaluation of {style}; run evaluate.py record=true on it")
    minutes = (card.training.seconds or 0) / 60
    return Reference(f"{card.name} ({card.training.steps} steps)", minutes, {m: getattr(evaluation, m) for m in LOSSES})


def first_within(curve: Curve, reference: Reference) -> float | None:
    """The first minute at which both losses were within TOLERANCE of the reference's, or None."""
    for index, minute in enumerate(curve.minutes):
        if all(curve.losses[m][index] <= (1 + TOLERANCE) * reference.losses[m] for m in LOSSES):
            return minute
    return None


def summary(curves: list[Curve], references: dict[str, Reference]) -> str:
    lines = [
        "| style | run | minutes | content loss | style loss | content vs reference | style vs reference | within 15 % from |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for style, reference in references.items():
        r = reference.losses
        lines.append(f"| {style} | {reference.name} | {reference.minutes:.0f} | {r['content']:.3f} | {r['style']:.3f} | reference | reference | |")
        for c in (c for c in curves if c.style == style):
            last = {m: c.losses[m][-1] for m in LOSSES}
            relative = [f"{100 * (last[m] / r[m] - 1):+.1f} %" for m in LOSSES]
            reached = first_within(c, reference)
            when = f"{reached:.1f} min" if reached is not None else f"not by {c.minutes[-1]:.1f} min"
            lines.append(f"| {style} | {c.label} | {c.minutes[-1]:.1f} | {last['content']:.3f} | {last['style']:.3f} | "
                         f"{relative[0]} | {relative[1]} | {when} |")
    return "\n".join(lines)


def plot(curves: list[Curve], references: dict[str, Reference], output: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(references), 2, figsize=(10, 3.6 * len(references)), dpi=100, squeeze=False)
    for row, (style, reference) in enumerate(references.items()):
        for column, metric in enumerate(LOSSES):
            ax = axes[row][column]
            for c in (c for c in curves if c.style == style):
                ax.plot(c.minutes, c.losses[metric], marker=".", label=c.label)
            ax.plot([reference.minutes], [reference.losses[metric]], marker="*", markersize=12, color="black",
                    linestyle="none", label=reference.name)
            ax.axhline((1 + TOLERANCE) * reference.losses[metric], color="black", linestyle="--", linewidth=0.8,
                       label="reference + 15 %")
            ax.set(xscale="log", xlabel="training time (minutes, log scale)", ylabel=f"{metric} loss (eval photos)",
                   title=f"{style}: {metric} loss")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8)
    figure.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output)
    plt.close(figure)


@exit_on_user_error
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--curve", action="append", required=True, help="STYLE:LABEL=RUN_FOLDER (repeat)")
    parser.add_argument("--reference", action="append", default=[], help="STYLE=MODEL (default: the shipped model STYLE)")
    parser.add_argument("--output", type=Path, help="write the plot here (PNG)")
    args = parser.parse_args()
    curves = [read_curve(*parse_curve(spec)) for spec in args.curve]
    if any("=" not in spec for spec in args.reference):
        raise FstError("--reference: expected STYLE=MODEL, e.g. udnie=checkpoints/udnie.safetensors")
    models = dict(spec.partition("=")[::2] for spec in args.reference)
    references = {c.style: read_reference(c.style, models.get(c.style)) for c in curves}
    print(summary(curves, references))
    if args.output:
        plot(curves, references, args.output)
        print(f"plot: {args.output}")


if __name__ == "__main__":
    main()
