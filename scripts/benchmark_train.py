"""Benchmark fst's training step: steps/s, images/s and peak memory (prints numbers; not a test).

Runs the real training path (the LightningModule and Trainer that `train.py` builds) on synthetic
batches, so the numbers exclude data loading. Any training config value can be overridden:

    python scripts/benchmark_train.py --steps 10 data.image_size=256 data.batch_size=4 trainer.precision=32
    python scripts/benchmark_train.py --steps 10 trainer=cpu          # bf16-mixed on CPU
    python scripts/benchmark_train.py --baseline --steps 10           # also time the classic loop

``--baseline`` first times the classic reference loop (pytorch/examples fast_neural_style) with the
same TransformerNet, loss definitions and sizes: fp32, VGG16 to the deepest layer on both the output
and the content batch, style Grams from the style image repeated batch-size times, ``.item()`` every step.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import warnings

import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from torch.utils.data import DataLoader, Dataset

from fst import CONF_DIR
from fst.data.datamodule import collate
from fst.losses.perceptual import gram_matrix
from fst.losses.vgg import VGG16Features
from fst.models.transformer_net import TransformerNet
from fst.train import build_module


class RandomImages(Dataset):
    def __init__(self, size: int, length: int):
        self.size, self.length = size, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        return {"image": torch.rand(3, self.size, self.size), "skipped": []}


class StepTimer(pl.Callback):
    """Wall time of every training step (synchronizing the GPU so its work is counted)."""

    def __init__(self):
        self.ends: list[float] = []

    def on_train_batch_end(self, trainer, *args) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.ends.append(time.perf_counter())


def peak_memory_mb(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.max_memory_allocated(device) / 2**20:.0f} MB CUDA (max_memory_allocated)"
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB (process peak RSS)"


def classic_loop_seconds_per_step(cfg, style: torch.Tensor, steps: int, warmup: int) -> float:
    """The reference implementations' training step, timed on the CPU or the first GPU, in fp32."""
    device = torch.device("cuda" if torch.cuda.is_available() and cfg.trainer.accelerator != "cpu" else "cpu")
    batch, size = cfg.data.batch_size, cfg.data.image_size
    content_layer, style_layers = cfg.loss.content_layer, list(cfg.loss.style_layers)
    layers = list(dict.fromkeys([*style_layers, content_layer]))
    net = TransformerNet(**{k: v for k, v in cfg.model.items() if k != "_target_"}).to(device)
    vgg = VGG16Features(layers, weights=cfg.loss.vgg_weights).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    with torch.no_grad():
        style_features = vgg(style.to(device).repeat(batch, 1, 1, 1), layers)
        style_grams = {name: gram_matrix(style_features[name]) for name in style_layers}
    ends = []
    for _ in range(warmup + steps):
        x = torch.rand(batch, 3, size, size, device=device)
        y = net(x)
        features_y, features_x = vgg(y, layers), vgg(x, layers)
        content_loss = cfg.loss.content_weight * torch.nn.functional.mse_loss(features_y[content_layer], features_x[content_layer])
        style_loss = sum(
            weight * torch.nn.functional.mse_loss(gram_matrix(features_y[name]), style_grams[name][: len(x)])
            for name, weight in cfg.loss.style_layers.items()
        )
        total = content_loss + cfg.loss.style_weight * style_loss
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        total.item()  # the per-step host sync of the reference loops' logging
        ends.append(time.perf_counter())
    return (ends[-1] - ends[warmup - 1]) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10, help="timed steps")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--baseline", action="store_true", help="also time the classic reference loop")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of conf/train.yaml")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    out = tempfile.mkdtemp(prefix="fst-bench-")
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        # The loss speed does not depend on the VGG weights, so random ones serve unless given.
        defaults = [f"paths.output_dir={out}", f"loss.vgg_weights={os.environ.get('FST_VGG_WEIGHTS', 'random')}"]
        cfg = compose(config_name="train", overrides=[*defaults, *args.overrides])
    size, batch = cfg.data.image_size, cfg.data.batch_size
    total_steps = args.warmup + args.steps

    style = torch.rand(1, 3, cfg.style.size or 256, cfg.style.size or 256)
    baseline = classic_loop_seconds_per_step(cfg, style, args.steps, max(args.warmup, 1)) if args.baseline else None
    module = build_module(cfg, style)
    timer = StepTimer()
    trainer = instantiate(
        cfg.trainer,
        max_steps=total_steps,
        logger=False,
        callbacks=[timer],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        default_root_dir=out,
    )
    loader = DataLoader(RandomImages(size, batch * total_steps), batch_size=batch, collate_fn=collate)
    start = time.perf_counter()
    trainer.fit(module, train_dataloaders=loader)
    timed = timer.ends[args.warmup :]
    seconds_per_step = (timed[-1] - timer.ends[args.warmup - 1]) / len(timed) if args.warmup else (timed[-1] - start) / len(timed)
    device = module.device
    print(
        f"device={device.type} ({torch.cuda.get_device_name() if device.type == 'cuda' else f'{torch.get_num_threads()} threads'}) "
        f"precision={cfg.trainer.precision} batch={batch} size={size} steps={args.steps}\n"
        f"  {seconds_per_step:.3f} s/step  {1 / seconds_per_step:.3f} steps/s  {batch / seconds_per_step:.2f} images/s\n"
        f"  peak memory: {peak_memory_mb(device)}",
        file=sys.stdout,
    )
    if baseline is not None:
        print(
            f"classic loop (fp32): {baseline:.3f} s/step  {batch / baseline:.2f} images/s\n"
            f"  fst speed-up: {baseline / seconds_per_step:.2f}x images/s (peak memory above includes the classic loop;"
            " run without --baseline for fst alone)"
        )


if __name__ == "__main__":
    main()
