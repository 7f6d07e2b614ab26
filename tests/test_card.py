"""The model card, the architecture registry and named models: one design for every kind of style model."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from conftest import assert_one_line_error, make_net, run_script
from fst.errors import FstError
from fst.models import (
    LossSpec,
    ModelCard,
    StyleSpec,
    TrainingRecord,
    build_network,
    load_style_model,
    read_card,
    register_architecture,
    resolve_model,
    save_style_model,
    shipped_models,
    update_card,
)
from fst.models.card import Evaluation, card_from_v1, describe
from fst.models.registry import _ARCHITECTURES
from fst.resources import CHECKPOINTS_DIR

LOSS = LossSpec(backbone="vgg16", content_layer="relu2_2", style_layers={"relu2_2": 1.0}, content_weight=1.0, style_weight=3e4, tv_weight=0.0)


def card_for(net: nn.Module, **changes) -> ModelCard:
    card = ModelCard(
        name="toy",
        architecture=net.architecture,
        network=dict(net.config),
        styles=(StyleSpec("toy", size=64),),
        loss=LOSS,
        training=TrainingRecord(steps=7, image_size=32, batch_size=2, optimizer="Adam", lr=1e-3, seconds=12.0, hardware="CPU: test"),
    )
    return card.replace(**changes)


def test_card_round_trips_through_an_export(tmp_path):
    net = make_net(width=0.25, num_residual_blocks=1)
    card = card_for(net)
    path = save_style_model(net, tmp_path / "toy.safetensors", card, dtype="float32")
    assert read_card(path) == card
    loaded, loaded_card = load_style_model(path)
    assert loaded_card == card and loaded_card.training.images_seen == 14
    for (name, a), b in zip(net.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name


def test_the_card_says_how_a_model_was_trained_for_video():
    net = make_net(width=0.25, num_residual_blocks=1)
    plain = dict(describe(card_for(net)))
    assert "temporal" not in plain["loss weights"] and "distilled" not in plain["training"]
    video = card_for(net, loss=dataclasses.replace(LOSS, temporal_weight=100.0),
                     training=dataclasses.replace(card_for(net).training, teachers=("candy",), distill_weight=1000.0))
    rows = dict(describe(video))
    assert rows["loss weights"] == "content 1, style 30000, total variation 0, temporal 100"
    assert rows["training"].endswith("; distilled from candy at 1000")


def test_update_card_keeps_the_tensors_exactly(tmp_path):
    net = make_net(width=0.25, num_residual_blocks=1)
    path = save_style_model(net, tmp_path / "toy.safetensors", card_for(net), dtype="float16")
    before = path.read_bytes()
    evaluation = {"toy": Evaluation(photos=3, size=64, content=1.5, style=2.5, ssim=0.5, psnr=20.0, seconds=0.1, device="cpu, fp32")}
    update_card(path, read_card(path).replace(evaluation=evaluation))
    assert read_card(path).evaluation == evaluation and path.read_bytes() != before
    for (name, a), b in zip(load_style_model(path)[0].state_dict().items(), net.state_dict().values()):
        torch.testing.assert_close(a, b.half().float(), msg=name)


def write_v1_export(net: nn.Module, path, **extra) -> None:
    """A style model as fst 0.1 wrote it: flat string metadata, format fst-style-model/1."""
    metadata = {
        "format": "fst-style-model/1",
        "model_config": json.dumps(net.config),
        "style": "candy",
        "steps": "5000",
        "loss": json.dumps({"content_layer": "relu2_2", "style_layers": {"relu1_2": 1.0}, "content_weight": 1.0,
                            "style_weight": 30000.0, "tv_weight": 0.0}),
        "fst_version": "0.1.0",
        **extra,
    }
    save_file({k: v.half().contiguous() for k, v in net.state_dict().items()}, str(path), metadata=metadata)


def test_files_written_by_fst_0_1_still_load(tmp_path):
    net = make_net(width=0.25, num_residual_blocks=1)
    optimizer = json.dumps({"name": "Adam", "lr": 0.001, "lr_scheduler": "CosineAnnealingLR"})
    write_v1_export(net, tmp_path / "old.safetensors", style_size="384", image_size="256", batch_size="4",
                    train_seconds="7000", hardware="CPU: AMD EPYC (2 cores)", optimizer=optimizer)
    loaded, card = load_style_model(tmp_path / "old.safetensors")
    assert card.architecture == "transformer_net" and card.network == net.config and card.format_version == 2
    assert card.styles == (StyleSpec("candy", size=384),)
    assert card.loss.backbone == "vgg16" and card.loss.style_weight == 3e4
    assert card.training == TrainingRecord(steps=5000, image_size=256, batch_size=4, optimizer="Adam", lr=0.001,
                                           lr_scheduler="CosineAnnealingLR", seconds=7000.0, hardware="CPU: AMD EPYC (2 cores)")
    x = torch.rand(1, 3, 24, 24)
    torch.testing.assert_close(loaded(x), net.half().float().eval()(x))
    # A fst 0.1 Lightning checkpoint recorded only the network and the style; its step is Lightning's.
    old_ckpt = card_from_v1({"model_config": net.config, "style": "candy"}, steps=1200)
    assert old_ckpt.training.steps == 1200 and old_ckpt.loss is None and old_ckpt.styles[0].name == "candy"


def test_cards_from_a_newer_fst_or_broken_ones_are_one_line_errors(tmp_path):
    net = make_net(width=0.25, num_residual_blocks=1)
    path = save_style_model(net, tmp_path / "toy.safetensors", card_for(net), dtype="float16")
    tensors = {k: v.half().contiguous() for k, v in net.state_dict().items()}
    newer = dict(card_for(net).to_dict(), format_version=99)
    save_file(tensors, str(path), metadata={"format": "fst-style-model/99", "fst_card": json.dumps(newer)})
    with pytest.raises(FstError, match="format 99, newer than this fst reads"):
        load_style_model(path)
    save_file(tensors, str(path), metadata={"format": "fst-style-model/2", "fst_card": '{"format_version": 2}'})
    with pytest.raises(FstError, match="incomplete or malformed"):
        read_card(path)
    unknown = dict(card_for(net).to_dict(), architecture="unet9000")
    save_file(tensors, str(path), metadata={"format": "fst-style-model/2", "fst_card": json.dumps(unknown)})
    with pytest.raises(FstError, match="unknown architecture 'unet9000'; this fst knows: arbitrary_style_net, conditional_light_net, conditional_transformer_net, light_net, transformer_net"):
        load_style_model(path)


class TinyStyleNet(nn.Module):
    """A stand-in for a new kind of style network: one 3x3 convolution with a residual."""

    def __init__(self, channels: int):
        super().__init__()
        self.config = {"channels": channels}
        self.body = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1), nn.ReLU(), nn.Conv2d(channels, 3, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def test_a_new_architecture_is_one_registry_entry(tmp_path, monkeypatch):
    monkeypatch.setattr("fst.models.registry._ARCHITECTURES", dict(_ARCHITECTURES))  # the entry goes with the test
    register_architecture("tiny_style_net")(TinyStyleNet)
    net = build_network("tiny_style_net", {"channels": 4})
    assert isinstance(net, TinyStyleNet) and net.architecture == "tiny_style_net"
    path = save_style_model(net, tmp_path / "tiny.safetensors", card_for(net), dtype="float32")
    loaded, card = load_style_model(path)
    assert isinstance(loaded, TinyStyleNet) and card.architecture == "tiny_style_net" and card.network == {"channels": 4}
    x = torch.rand(1, 3, 16, 16)
    torch.testing.assert_close(loaded(x), net(x))
    with pytest.raises(FstError, match="invalid tiny_style_net options"):
        build_network("tiny_style_net", {"channels": 4, "depth": 3})


def test_shipped_models_resolve_by_name_and_paths_still_work(tmp_path):
    shipped = shipped_models()
    assert "starry_night" in shipped and shipped["starry_night"] == CHECKPOINTS_DIR / "starry_night.safetensors"
    assert resolve_model("starry_night") == shipped["starry_night"]
    local = tmp_path / "mine.safetensors"
    local.write_bytes(b"x")
    assert resolve_model(str(local)) == local
    with pytest.raises(FstError, match="ckpt=starry_nigth is neither a file nor a shipped model; shipped models: arbitrary, candy, "):
        resolve_model("starry_nigth")
    with pytest.raises(FstError, match="checkpoint not found: /no/such.safetensors"):
        resolve_model("/no/such.safetensors")


@pytest.mark.slow
def test_models_command_lists_the_shipped_models_with_their_cards(tmp_path):
    result = run_script("models.py")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [line.split("|")[1:-1] for line in result.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    header, *models = [[cell.strip() for cell in row] for row in rows]
    assert header[:5] == ["name", "architecture", "style(s)", "steps", "image size"] and "SSIM" in header and "PSNR (dB)" in header
    assert sorted(row[0] for row in models) == sorted(shipped_models())
    starry = next(row for row in models if row[0] == "starry_night")
    steps = read_card(CHECKPOINTS_DIR / "starry_night.safetensors").training.steps
    assert starry[1:5] == ["transformer_net", "starry_night", str(steps), "256"]
    assert all(float(value) > 0 for value in starry[5:])  # its evaluation figures
    card = run_script("models.py", "name=starry_night")
    assert card.returncode == 0 and "transformer_net" in card.stdout and f"{steps} steps at batch 4" in card.stdout
    assert_one_line_error(run_script("models.py", "name=starry_nigth"), "name=starry_nigth", "shipped models: arbitrary, candy")
