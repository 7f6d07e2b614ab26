"""Benchmark stylization: latency, images/s and peak memory per model, size, batch, precision and eager vs
compiled, and PyTorch vs ONNX Runtime (prints numbers and writes a markdown table; not a test).

    python tools/benchmark_stylize.py                                   # the default grid on this machine
    python tools/benchmark_stylize.py --sizes 512 1920x1080 --precisions bf16 --compile on
    python tools/benchmark_stylize.py --ckpts checkpoints/starry_night.safetensors --output table.md
    python tools/benchmark_stylize.py --sizes 512 1024 --batches 1 --precisions fp32 bf16 int8 --backends torch onnxruntime
    # real time: the full and the light network on video frames, every CPU path, side by side
    python tools/benchmark_stylize.py --ckpts candy multi_style_fast --sizes 640x360 1280x720 --batches 1 4 \
        --precisions fp32 bf16 int8 --backends torch onnxruntime --repeats 10

With several models, a summary follows the table: each model's fastest path per size and batch, and its
speed against the first model's fastest. A multi-style model paints its first style.

Each CPU configuration runs in a fresh process so its peak RSS is its own; on CUDA the peak is
``torch.cuda.max_memory_allocated``. Sizes above --tile-size go through the tiled path. Compilation
time is excluded (one warm-up call per configuration), and so is making the ONNX model (once, cached). int8
runs on ONNX Runtime only, calibrated on the configured calibration photos (FST_DATA_DIR's eval folder).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import resource
import statistics
import time
from pathlib import Path

import torch

from fst.inference.device import pick_device
from fst.inference.stylizer import Stylizer
from fst.models import load_style_model, resolve_model
from fst.models.conditional_net import is_multi_style
from fst.options import StylizeOptions


def parse_size(text: str) -> tuple[int, int]:
    width, _, height = text.partition("x")
    return int(width), int(height or width)


def measure(ckpt: str, device: str, width: int, height: int, batch: int, precision: str, backend: str, compile: bool,
            repeats: int, tile_size: int) -> dict:
    torch.manual_seed(0)
    net = load_style_model(resolve_model(ckpt))[0]
    device = pick_device(device)
    options = StylizeOptions(device=str(device), precision=precision, backend=backend, compile=compile, tile_size=tile_size)
    stylizer = Stylizer(net, options, style=first_style(net))
    images = torch.rand(batch, 3, height, width)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    stylizer(images)  # warm-up (and compilation)
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        stylizer(images)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    latency = statistics.median(times)
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "model": ckpt,
        "device": device.type,
        "size": f"{width}x{height}",
        "batch": batch,
        "precision": precision,
        "backend": backend,
        "mode": "compiled" if compile else "eager",
        "tiled": max(width, height) > tile_size,
        "latency_s": latency,
        "images_per_s": batch / latency,
        "peak_mb": peak,
    }


def first_style(net: torch.nn.Module) -> torch.Tensor | None:
    """A multi-style network's weights for its first style; None for a one-style network."""
    return torch.eye(net.num_styles)[0] if is_multi_style(net) else None


def prepare_onnx(ckpt: str, precision: str, backend: str) -> None:
    """Make and cache the ONNX model that a configuration will run (see fst.inference.onnx_runtime)."""
    net = load_style_model(resolve_model(ckpt))[0]
    Stylizer(net, StylizeOptions(device="cpu", precision=precision, backend=backend), style=first_style(net))


def summary(rows: list[dict]) -> list[str]:
    """Per size and batch, each model's fastest configuration and its speed against the first model's fastest."""
    lines = ["| size | batch | model | fastest path | images/s | against the first |", "|---|---|---|---|---|---|"]
    for size, batch in dict.fromkeys((row["size"], row["batch"]) for row in rows):  # in the table's order
        fastest = {}
        for row in rows:
            if (row["size"], row["batch"]) == (size, batch):
                best = fastest.get(row["model"])
                if best is None or row["images_per_s"] > best["images_per_s"]:
                    fastest[row["model"]] = row
        reference = next(iter(fastest.values()))["images_per_s"]
        for model, row in fastest.items():
            path = f"{row['precision']}, {row['backend']}" + (", compiled" if row["mode"] == "compiled" else "")
            lines.append(f"| {size} | {batch} | {model} | {path} | {row['images_per_s']:.2f} | {row['images_per_s'] / reference:.1f}x |")
    return lines


def in_fresh_process(function, *args):
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(function, *args).result()


def runs_on(backend: str, precision: str) -> bool:
    """ONNX Runtime runs fp32 and int8; PyTorch every precision but int8."""
    return precision in ("fp32", "int8") if backend == "onnxruntime" else precision != "int8"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpts", "--ckpt", nargs="+", default=["starry_night"], help="style models: shipped names or files")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--sizes", nargs="+", default=["256", "512", "1024", "1920x1080", "3840x2160"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 4])
    parser.add_argument("--max-batched-pixels", type=int, default=1024 * 1024, help="larger sizes run at batch 1 only")
    parser.add_argument("--precisions", nargs="+", help="default: fp32 bf16 (+ fp16 on CUDA); int8 runs on onnxruntime")
    parser.add_argument("--backends", nargs="+", default=["torch"], choices=["torch", "onnxruntime"],
                        help="onnxruntime: CPU, fp32 and int8, never compiled")
    parser.add_argument("--compile", choices=["off", "on", "both"], default="both")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--tile-size", type=int, default=2048, help="sizes above this are tiled")
    parser.add_argument("--output", type=Path, default=Path("benchmark_stylize.md"))
    args = parser.parse_args()

    device = pick_device(args.device)
    precisions = args.precisions or (["fp32", "bf16", "fp16"] if device.type == "cuda" else ["fp32", "bf16"])
    compiles = {"off": [False], "on": [True], "both": [False, True]}[args.compile]
    configs = []
    for width, height in map(parse_size, args.sizes):
        tiled = max(width, height) > args.tile_size
        for batch in args.batches:
            if batch > 1 and (width * height > args.max_batched_pixels or tiled):
                continue
            for precision in precisions:
                for backend in args.backends:
                    if not runs_on(backend, precision):
                        continue
                    for compile in [False] if tiled or backend == "onnxruntime" else compiles:  # tiles run the eager network
                        for ckpt in args.ckpts:
                            configs.append((ckpt, args.device, width, height, batch, precision, backend, compile, args.repeats, args.tile_size))

    if device.type == "cpu":
        for config in {c[:1] + c[5:7] for c in configs if c[6] == "onnxruntime"}:
            in_fresh_process(prepare_onnx, *config)  # exported (and quantized) once, outside the measured processes

    rows, lines = [], []
    header = "| model | device | size | batch | precision | backend | mode | latency (s) | images/s | peak memory (MB) |"
    print(header)
    for config in configs:
        # on CPU a fresh process per configuration: its peak RSS is its own
        row = in_fresh_process(measure, *config) if device.type == "cpu" else measure(*config)
        mode = row["mode"] + (", tiled" if row["tiled"] else "")
        line = (
            f"| {row['model']} | {row['device']} | {row['size']} | {row['batch']} | {row['precision']} | {row['backend']} | {mode} | "
            f"{row['latency_s']:.3f} | {row['images_per_s']:.2f} | {row['peak_mb']:.0f} |"
        )
        print(line, flush=True)
        rows.append(row)
        lines.append(line)
    name = torch.cuda.get_device_name() if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    table = [f"Stylization benchmark on {name} (torch {torch.__version__})", "", header, "|---" * 10 + "|", *lines]
    if len(args.ckpts) > 1:
        table += ["", *summary(rows)]
        print("\n" + "\n".join(summary(rows)))
    table = "\n".join(table)
    args.output.write_text(table + "\n")
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
