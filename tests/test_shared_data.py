"""Integration with the real data beside the repository: ImageNet VGG16 weights, paintings and photos."""

import csv

import pytest
import torch

from conftest import SHARED, SHARED_VGG, compose_config, needs_shared
from fst.data.images import load_image
from fst.models import load_style_model
from fst.training.run import train

pytestmark = [needs_shared, pytest.mark.slow, pytest.mark.filterwarnings("ignore::UserWarning")]


def test_training_with_real_vgg_and_photos_reduces_the_loss(tmp_path):
    overrides = [
        f"paths.data_dir={SHARED / 'data'}",
        f"paths.output_dir={tmp_path}",
        f"loss.vgg_weights={SHARED_VGG}",
        "style=starry_night",
        "style.size=128",
        "trainer=cpu",
        "data.image_size=64",
        "data.batch_size=2",
        "data.num_workers=0",
        "data.eval_max_images=2",
        "trainer.max_steps=16",
        "trainer.val_check_interval=16",
        "trainer.log_every_n_steps=1",
        "callbacks.checkpoint.every_n_train_steps=16",
        "logger=csv",
    ]
    export = train(compose_config("train", overrides))
    with open(tmp_path / "csv" / "metrics.csv") as f:
        totals = [float(r["train/total"]) for r in csv.DictReader(f) if r.get("train/total")]
    assert len(totals) == 16 and all(map(torch.isfinite, torch.tensor(totals)))
    assert sum(totals[-4:]) < 0.5 * sum(totals[:4])
    net, card = load_style_model(export)
    assert card.name == "starry_night" and card.training.steps == 16
    photo = load_image(SHARED / "data" / "content" / "eval" / "demo_chicago.jpg", long_side=96)
    with torch.no_grad():
        stylized = net(photo.unsqueeze(0))[0]
    assert stylized.shape == photo.shape
    assert (stylized.clamp(0, 1) - photo).abs().mean() > 0.02  # it changed the photo
