"""Shared fixtures: tiny synthetic data, Hydra config composition, and the optional ../shared data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from fst.config import build, compose
from fst.inference.stylizer import Stylizer
from fst.models import LossSpec, ModelCard, StyleSpec, TrainingRecord, save_style_model
from fst.options import StylizeOptions

REPO = Path(__file__).resolve().parents[1]
# Real photos, paintings and VGG16 weights that CI puts beside the repository (see ../shared/README.md).
SHARED = Path(os.environ.get("FST_SHARED_DIR", REPO.parent / "shared"))
SHARED_VGG = SHARED / "weights" / "vgg16_features.safetensors"

needs_shared = pytest.mark.skipif(
    not (SHARED / "data" / "content" / "train").is_dir() or not SHARED_VGG.is_file(),
    reason=f"shared data not found at {SHARED} (set FST_SHARED_DIR to the folder holding data/ and weights/)",
)


def random_image(size=(48, 40), seed=0, mode="RGB") -> Image.Image:
    """A smooth random colour image (gradients plus noise), so crops and losses are non-trivial."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx / w, yy / h, (xx + yy) / (w + h)], axis=-1) * 200
    pixels = (base + rng.uniform(0, 55, (h, w, 3))).astype(np.uint8)
    return Image.fromarray(pixels, "RGB").convert(mode)


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """A data_dir laid out like ../shared/data: styles/, content/train/ (nested) and content/eval/."""
    root = tmp_path_factory.mktemp("data")
    (root / "styles").mkdir()
    random_image((64, 48), seed=100).save(root / "styles" / "tiny.png")
    for i in range(8):
        folder = root / "content" / "train" / ("a" if i % 2 else "b/c")
        folder.mkdir(parents=True, exist_ok=True)
        random_image((48 + i, 40 + 2 * i), seed=i).save(folder / f"img{i}.jpg")
    (root / "content" / "eval").mkdir(parents=True)
    for i in range(2):
        random_image((50, 44), seed=50 + i).save(root / "content" / "eval" / f"eval{i}.png")
    return root


def tiny_overrides(data_dir: Path, output_dir: Path) -> list[str]:
    """Settings that make a training run take seconds on a CPU: 32 px crops, random VGG, no logger."""
    return [
        f"paths.data_dir={data_dir}",
        f"paths.output_dir={output_dir}",
        f"hydra.run.dir={output_dir}",
        "style.name=tiny",
        f"style.image={data_dir}/styles/tiny.png",
        "style.size=64",
        "loss.vgg_weights=random",
        "data.image_size=32",
        "data.batch_size=2",
        "data.num_workers=0",
        "data.eval_max_images=2",
        "trainer.max_steps=4",
        "trainer.val_check_interval=2",
        "trainer.log_every_n_steps=1",
        "trainer.enable_model_summary=false",
        "callbacks.checkpoint.every_n_train_steps=2",
        "logger=csv",
        "num_samples=2",
    ]


compose_config = compose  # a command's config, composed as its command line would


def group_options(group: str) -> dict:
    """The options of train.yaml's ``group`` (e.g. model, loss) as composed by default, resolved."""
    return OmegaConf.to_container(compose_config("train", ["paths.output_dir=/o"])[group], resolve=True)


def make_net(**options) -> torch.nn.Module:
    """A TransformerNet with conf/model/transformer_net.yaml's options, some of them overridden."""
    return build(OmegaConf.create({**group_options("model"), **options}))


def make_loss(**options) -> torch.nn.Module:
    """A PerceptualLoss with conf/loss/perceptual.yaml's options (random VGG weights unless given)."""
    return build(OmegaConf.create({**group_options("loss"), "vgg_weights": "random", **options}))


@pytest.fixture(scope="module")
def net() -> torch.nn.Module:
    """A small untrained TransformerNet (half width, 2 residual blocks), the same in every test module."""
    torch.manual_seed(0)
    return make_net(width=0.5, num_residual_blocks=2).eval()


def make_stylizer(net: torch.nn.Module, style: torch.Tensor | None = None, **options) -> Stylizer:
    """A Stylizer on the CPU with the default options (fst.options.StylizeOptions), some of them overridden."""
    return Stylizer(net, StylizeOptions(**{"device": "cpu", **options}), style=style)


def toy_card(net: torch.nn.Module, name: str = "toy", steps: int = 7) -> ModelCard:
    """A card for a network that was never trained: conf/loss/perceptual.yaml's loss, ``steps`` steps."""
    loss = {k: v for k, v in group_options("loss").items() if k not in ("_target_", "vgg_weights")}
    return ModelCard(
        name=name, architecture=net.architecture, network=dict(net.config), styles=(StyleSpec(name),), loss=LossSpec(**loss),
        training=TrainingRecord(steps=steps),
    )


def save_toy_model(net: torch.nn.Module, path: Path, name: str = "toy", steps: int = 7, dtype: str = "float16") -> Path:
    """Export ``net`` as a style model with a :func:`toy_card`."""
    return save_style_model(net, path, toy_card(net, name, steps), dtype=dtype)


def run_script(script: str, *args: str, env: dict | None = None, timeout: int = 300, cwd: Path = REPO) -> subprocess.CompletedProcess:
    """Run scripts/<script> (a command) or tools/<script> (a benchmark, figure or data tool) in a subprocess, as a
    user would."""
    folder = "scripts" if (REPO / "scripts" / script).is_file() else "tools"
    return subprocess.run(
        [sys.executable, str(REPO / folder / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})},
    )


def run_onnx_alone(model: Path, feeds: dict[str, np.ndarray], work: Path) -> np.ndarray:
    """Run an ONNX model in a fresh Python with onnxruntime and numpy only (the check fails if torch is imported)."""
    inputs = {name: work / f"onnx_in_{name}.npy" for name in feeds}
    for name, array in feeds.items():
        np.save(inputs[name], array)
    output = work / "onnx_out.npy"
    check = (
        "import sys, numpy as np, onnxruntime as ort\n"
        f"session = ort.InferenceSession({str(model)!r})\n"
        f"feeds = {{name: np.load(path) for name, path in {({n: str(p) for n, p in inputs.items()})!r}.items()}}\n"
        f"np.save({str(output)!r}, session.run(None, feeds)[0])\n"
        "assert 'torch' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    return np.load(output)


def check_multi_style_onnx(net: torch.nn.Module, model: Path, work: Path) -> tuple[torch.Tensor, ...]:
    """Run a 3-style network's ONNX file alone on two images (one in a style, one in a mix) and check it paints as
    ``net`` does; returns the images, their style weights and ``net``'s output."""
    x = np.random.default_rng(0).random((2, 3, 40, 52), dtype=np.float32)
    styles = np.array([[0.0, 1.0, 0.0], [0.3, 0.0, 0.7]], dtype=np.float32)
    stylized = run_onnx_alone(model, {"image": x, "style": styles}, work)
    with torch.no_grad():
        expected = net(torch.from_numpy(x), torch.from_numpy(styles))
    torch.testing.assert_close(torch.from_numpy(stylized), expected, atol=1e-4, rtol=1e-4)
    return torch.from_numpy(x), torch.from_numpy(styles), expected


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("fst: error:")]
    assert len(errors) == 1, result.stderr[-2000:]
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
