"""Benchmark training: fst's training step against the classic reference loop (prints numbers; not a test).

Both run the same TransformerNet, loss definitions, weights, image size and batch size, each in a fresh
process so each peak memory is its own. With photos available (paths.data_dir / FST_DATA_DIR) both read
them through their own data pipelines; otherwise both use synthetic batches.

- fst: the LightningModule and Trainer that `train.py` builds, with its DataModule (workers, crops).
- classic: what the well-known reference implementations do (pytorch/examples fast_neural_style): fp32;
  a single-process DataLoader with PIL Resize + CenterCrop; VGG16 to the deepest layer on both the output
  and the photo every step; style Grams of the style image repeated batch-size times; ``.item()`` every step.

    python tools/benchmark_train.py --steps 8 trainer.accelerator=cpu trainer.precision=32
    python tools/benchmark_train.py --steps 8 trainer=cpu                        # fst in bf16-mixed
    python tools/benchmark_train.py --mode fst data.image_size=512 data.batch_size=2

Data-loader wait: the share of wall time spent between steps waiting for the next batch. TFLOP/s: the useful
work rate, images/s times the FLOPs of fst's training step per image (counted by torch's FlopCounterMode), and
its share of the device's peak with --peak-tflops (e.g. 989 for an H100/H200's dense bf16).

Quality (``--quality N``): train N steps with fst's fp32 path and with the path the overrides choose, from the
same seed on the same batches, then evaluate both networks in fp32 on the eval photos; prints the content and
style losses of both and their relative difference.

    python tools/benchmark_train.py --quality 150 trainer=cpu
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import os
import resource
import tempfile
import time
import warnings
from pathlib import Path

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torch.utils.flop_counter import FlopCounterMode
from torchvision import transforms

from fst.config import build, register_configs
from fst.data.datamodule import collate
from fst.data.images import find_images
from fst.losses.perceptual import gram_matrix
from fst.losses.vgg import VGGFeatures
from fst.models.card import StyleSpec
from fst.resources import CONF_DIR
from fst.training.run import build_module
from fst.training.styles import training_styles


class RandomImages(Dataset):
    def __init__(self, size: int, length: int):
        self.size, self.length = size, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        return {"image": torch.rand(3, self.size, self.size), "skipped": []}


class StepTimer(pl.Callback):
    """Wall time at the start and end of every training step (synchronizing the GPU so its work counts)."""

    def __init__(self):
        self.starts: list[float] = []
        self.ends: list[float] = []

    def on_train_batch_start(self, trainer, *args) -> None:
        self.starts.append(time.perf_counter())

    def on_train_batch_end(self, trainer, *args) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.ends.append(time.perf_counter())


class ClassicImages(Dataset):
    """The reference loops' data: PIL decode, Resize + CenterCrop, ToTensor."""

    def __init__(self, paths: list[Path], size: int):
        self.paths = paths
        self.transform = transforms.Compose([transforms.Resize(size), transforms.CenterCrop(size), transforms.ToTensor()])

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.transform(Image.open(self.paths[index]).convert("RGB"))


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def compose_config(overrides: list[str]):
    out = tempfile.mkdtemp(prefix="fst-bench-")
    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        # The loss speed does not depend on the VGG weights, so random ones serve unless given.
        defaults = [f"paths.output_dir={out}", f"loss.vgg_weights={os.environ.get('FST_VGG_WEIGHTS', 'random')}"]
        return compose(config_name="train", overrides=[*defaults, *overrides])


def step_flops_per_image(cfg) -> float:
    """FLOPs of one fst training step (forward, loss, backward) per image, counted at batch size 1."""
    net = build(cfg.model)
    criterion = instantiate(cfg.loss, vgg_weights="random")
    criterion.set_style(torch.rand(1, 3, 64, 64))
    images = torch.rand(1, 3, cfg.data.image_size, cfg.data.image_size)
    with FlopCounterMode(display=False) as counter:
        criterion(net(images), images)["total"].backward()
    return counter.get_total_flops()


def training_photos(cfg) -> list[Path]:
    return find_images(cfg.data.train_dir) if Path(cfg.data.train_dir).is_dir() else []


def summary(ends: list[float], waits: list[float], warmup: int, batch: int, device: torch.device) -> dict:
    seconds = (ends[-1] - ends[warmup - 1]) / (len(ends) - warmup)
    timed_wait = sum(waits[warmup:])
    return {
        "s_per_step": seconds,
        "images_per_s": batch / seconds,
        "data_wait": timed_wait / (ends[-1] - ends[warmup - 1]),
        "peak_mb": peak_memory_mb(device),
    }


def run_fst(overrides: list[str], steps: int, warmup: int) -> dict:
    warnings.filterwarnings("ignore")
    cfg = compose_config(overrides)
    style = torch.rand(1, 3, cfg.style.size or 256, cfg.style.size or 256)
    module = build_module(cfg, [(StyleSpec(cfg.style.name, cfg.style.size), style)])
    timer = StepTimer()
    trainer = instantiate(
        cfg.trainer,
        max_steps=warmup + steps,
        logger=False,
        callbacks=[timer],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        default_root_dir=cfg.paths.output_dir,
    )
    batch, size = cfg.data.batch_size, cfg.data.image_size
    if training_photos(cfg):
        trainer.fit(module, datamodule=instantiate(cfg.data, eval_dir=None))
    else:
        loader = DataLoader(RandomImages(size, batch * (warmup + steps)), batch_size=batch, collate_fn=collate)
        trainer.fit(module, train_dataloaders=loader)
    waits = [0.0] + [start - end for start, end in zip(timer.starts[1:], timer.ends)]
    return summary(timer.ends, waits, warmup, batch, module.device) | {"precision": str(cfg.trainer.precision)}


FP32_PATH = [
    "trainer.precision=32",
    "performance.channels_last=false",
    "performance.compile=false",
    "performance.activation_checkpointing=false",
]


@torch.no_grad()
def evaluate_fp32(module, loader) -> dict:
    """Mean weighted content and style loss of ``module.net`` over ``loader``, in fp32."""
    net, criterion = module.net.float().eval(), module.criterion.float()
    totals, count = {"content": 0.0, "style": 0.0}, 0
    for batch in loader:
        images = batch["image"].to(module.device)
        losses = criterion(net(images), images)
        for key in totals:
            totals[key] += losses[key].item() * len(images)
        count += len(images)
    return {key: value / count for key, value in totals.items()}


def run_quality(overrides: list[str], steps: int) -> dict:
    warnings.filterwarnings("ignore")
    cfg = compose_config(overrides)
    pl.seed_everything(cfg.seed, workers=True)
    module = build_module(cfg, training_styles(cfg))
    datamodule = instantiate(cfg.data)
    trainer = instantiate(
        cfg.trainer,
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        default_root_dir=cfg.paths.output_dir,
    )
    trainer.fit(module, datamodule=datamodule)
    return evaluate_fp32(module, datamodule.val_dataloader()) | {"precision": str(cfg.trainer.precision)}


def compare_quality(overrides: list[str], steps: int) -> None:
    cfg = compose_config(overrides)
    if not training_photos(cfg) or not Path(cfg.data.eval_dir or "").is_dir():
        raise SystemExit(f"--quality needs photos: {cfg.data.train_dir} and {cfg.data.eval_dir} (set FST_DATA_DIR)")
    print(f"quality after {steps} steps, batch={cfg.data.batch_size} size={cfg.data.image_size}; eval losses in fp32")
    print("| path | precision | content loss | style loss |")
    results = {}
    for name, path_overrides in [("fp32", [*overrides, *FP32_PATH]), ("optimized", overrides)]:
        r = results[name] = in_fresh_process(run_quality, path_overrides, steps)
        print(f"| {name} | {r['precision']} | {r['content']:.4f} | {r['style']:.4f} |", flush=True)
    for term in ("content", "style"):
        change = results["optimized"][term] / results["fp32"][term] - 1
        print(f"{term} loss: optimized vs fp32 {100 * change:+.1f}%")


def run_classic(overrides: list[str], steps: int, warmup: int) -> dict:
    warnings.filterwarnings("ignore")
    cfg = compose_config(overrides)
    device = torch.device("cuda" if torch.cuda.is_available() and cfg.trainer.accelerator != "cpu" else "cpu")
    batch, size = cfg.data.batch_size, cfg.data.image_size
    content_layer, style_layers = cfg.loss.content_layer, list(cfg.loss.style_layers)
    layers = list(dict.fromkeys([*style_layers, content_layer]))
    net = build(cfg.model).to(device)
    vgg = VGGFeatures(cfg.loss.backbone, layers, weights=cfg.loss.vgg_weights).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    style = torch.rand(1, 3, cfg.style.size or 256, cfg.style.size or 256)
    with torch.no_grad():
        style_features = vgg(style.to(device).repeat(batch, 1, 1, 1), layers)
        style_grams = {name: gram_matrix(style_features[name]) for name in style_layers}
    photos = training_photos(cfg)
    if photos:
        loader = iter(DataLoader(ClassicImages(photos, size), batch_size=batch, shuffle=True, drop_last=True))
    else:
        loader = iter(torch.rand(batch, 3, size, size) for _ in range(warmup + steps))
    ends, waits = [], []
    for _ in range(warmup + steps):
        fetch = time.perf_counter()
        x = next(loader).to(device)
        waits.append(time.perf_counter() - fetch)
        y = net(x)
        features_y, features_x = vgg(y, layers), vgg(x, layers)
        content_loss = cfg.loss.content_weight * F.mse_loss(features_y[content_layer], features_x[content_layer])
        style_loss = sum(
            weight * F.mse_loss(gram_matrix(features_y[name]), style_grams[name][: len(x)])
            for name, weight in cfg.loss.style_layers.items()
        )
        total = content_loss + cfg.loss.style_weight * style_loss
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        total.item()  # the per-step host sync of the reference loops' logging
        if device.type == "cuda":
            torch.cuda.synchronize()
        ends.append(time.perf_counter())
    return summary(ends, waits, warmup, batch, device) | {"precision": "32"}


def in_fresh_process(function, *args) -> dict:
    """Run one measurement in its own process, so its peak memory is its own."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(function, *args).result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10, help="timed steps")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (at least 1)")
    parser.add_argument("--mode", choices=["both", "fst", "classic"], default="both")
    parser.add_argument("--peak-tflops", type=float, help="the device's peak TFLOP/s, to print the share reached")
    parser.add_argument("--quality", type=int, metavar="N", help="compare losses after N steps instead of speed")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of conf/train.yaml")
    args = parser.parse_args()
    warmup = max(1, args.warmup)
    if args.quality:
        return compare_quality(args.overrides, args.quality)
    cfg = compose_config(args.overrides)
    data = f"photos from {cfg.data.train_dir}" if training_photos(cfg) else "synthetic batches (no photos found)"
    print(f"batch={cfg.data.batch_size} size={cfg.data.image_size} steps={args.steps} data: {data}")
    flops = step_flops_per_image(cfg)
    print(f"fst training step: {flops / 1e9:.1f} GFLOP per image")
    share = " | share of peak" if args.peak_tflops else ""
    print(f"| loop | precision | s/step | images/s | TFLOP/s | data-loader wait | peak memory (MB){share} |")
    results = {}
    for name, function in [("classic", run_classic), ("fst", run_fst)]:
        if args.mode in (name, "both"):
            r = results[name] = in_fresh_process(function, args.overrides, args.steps, warmup)
            tflops = r["images_per_s"] * flops / 1e12
            share = f" {100 * tflops / args.peak_tflops:.1f}% |" if args.peak_tflops else ""
            print(
                f"| {name} | {r['precision']} | {r['s_per_step']:.3f} | {r['images_per_s']:.2f} | {tflops:.3g} | "
                f"{100 * r['data_wait']:.1f}% | {r['peak_mb']:.0f} |{share}",
                flush=True,
            )
    if len(results) == 2:
        fst, classic = results["fst"], results["classic"]
        print(
            f"fst vs classic: {fst['images_per_s'] / classic['images_per_s']:.2f}x images/s, "
            f"{fst['peak_mb'] / classic['peak_mb']:.2f}x peak memory"
        )


if __name__ == "__main__":
    main()
