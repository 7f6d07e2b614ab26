"""evaluate.py (losses, SSIM, gallery, report) and optimize.py (the per-image optimization baseline)."""

from __future__ import annotations

import csv
import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import (
    assert_one_line_error,
    compose_config,
    make_loss,
    random_image,
    run_script,
    tiny_overrides,
    toy_card,
)
from fst.commands.optimize import optimize
from fst.evaluation.measure import evaluate
from fst.evaluation.report import Column, markdown_report
from fst.models import read_card
from fst.models.card import StyleSpec
from fst.models.transformer_net import TransformerNet
from fst.optimization import optimize_image
from fst.training.run import train


@pytest.fixture(scope="module")
def style_dir(tiny_data, tmp_path_factory):
    """The paintings of the two tiny styles (the same picture under two names)."""
    folder = tmp_path_factory.mktemp("styles")
    for name in ("tiny", "tiny_light"):
        shutil.copy(tiny_data / "styles" / "tiny.png", folder / f"{name}.png")
    return folder


@pytest.fixture(scope="module")
def tiny_models(tiny_data, tmp_path_factory):
    """Two tiny style models trained a few steps on the tiny data (same painting, different loss weights)."""
    paths = []
    for name, style_weight in [("tiny", "1e5"), ("tiny_light", "1e3")]:
        run = tmp_path_factory.mktemp(name)
        overrides = [
            *tiny_overrides(tiny_data, run), "model.width=0.25", "model.num_residual_blocks=1",
            f"style.name={name}", f"loss.style_weight={style_weight}", "trainer.max_steps=3",
        ]
        paths.append(train(compose_config("train", overrides)))
    return paths


def evaluate_overrides(tiny_data, output, *extra: str) -> list[str]:
    return [
        f"paths.data_dir={tiny_data}", f"hydra.run.dir={output}", f"output={output}",
        "vgg_weights.vgg16=random", "size=32", "device=cpu", "progress=false", *extra,
    ]


def test_export_records_the_training_sizes(tiny_models):
    card = read_card(tiny_models[0])
    assert (card.styles[0].size, card.training.image_size, card.training.batch_size, card.training.steps) == (64, 32, 2, 3)


def test_optimization_lowers_the_loss_with_lbfgs_and_adam():
    torch.manual_seed(0)
    criterion = make_loss(style_weight=1e10)  # an untrained VGG16 has small Grams
    criterion.set_style(torch.rand(1, 3, 48, 48))
    photo = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    for optimizer, init in [("lbfgs", "content"), ("adam", "noise")]:
        result = optimize_image(photo, criterion, optimizer=optimizer, steps=15, lr=None, init=init, seed=0, progress=False)
        assert len(result.history) == 15 and result.seconds > 0
        assert result.history[-1]["total"] < 0.5 * result.history[0]["total"], optimizer
        assert result.image.shape == photo.shape and 0 <= result.image.min() and result.image.max() <= 1
        assert not torch.equal(result.image, photo)


def test_optimize_script_writes_the_image_and_the_loss_curve(tiny_data, tmp_path):
    output = tmp_path / "out" / "optimized.png"
    args = [
        f"content={tiny_data / 'content' / 'eval' / 'eval0.png'}", f"paths.data_dir={tiny_data}", "style.name=tiny",
        f"style.image={tiny_data / 'styles' / 'tiny.png'}", "style.size=64", "loss.vgg_weights=random",
        "size=40", "steps=5", f"output={output}", "device=cpu",
    ]
    result = run_script("optimize.py", *args)
    assert result.returncode == 0, result.stderr[-3000:]
    assert Image.open(output).size == (40, 35)  # eval0.png is 50x44, long side resized to 40
    with open(tmp_path / "out" / "optimized_losses.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 5 and float(rows[-1]["total"]) < float(rows[0]["total"])
    assert Image.open(tmp_path / "out" / "optimized_losses.png").size[0] > 100
    again = run_script("optimize.py", *args)  # never overwrites without overwrite=true
    assert_one_line_error(again, "exists", "overwrite=true")


def test_optimize_runs_on_the_gatys_vgg19_layers(tiny_data, tmp_path):
    cfg = compose_config("optimize", [
        f"content={tiny_data / 'content' / 'eval' / 'eval0.png'}", f"paths.data_dir={tiny_data}", "style.name=tiny",
        f"style.image={tiny_data / 'styles' / 'tiny.png'}", "style.size=64", "loss=gatys", "loss.vgg_weights=random",
        "size=32", "steps=3", f"output={tmp_path / 'gatys.png'}", "device=cpu", "progress=false",
    ])
    assert optimize(cfg) == tmp_path / "gatys.png"
    with open(tmp_path / "gatys_losses.csv") as f:
        assert len(list(csv.DictReader(f))) == 3


def test_optimize_script_names_a_missing_photo(tmp_path):
    result = run_script("optimize.py", f"content={tmp_path / 'nope.jpg'}", "loss.vgg_weights=random")
    assert_one_line_error(result, "content image not found", "nope.jpg")


def test_evaluate_reports_losses_ssim_and_time_with_a_gallery(tiny_data, tiny_models, style_dir, tmp_path):
    overrides = evaluate_overrides(
        tiny_data, tmp_path, f"ckpts=[{tiny_models[0]},{tiny_models[1]}]", f"style_dir={style_dir}", "save_images=true"
    )
    cfg = compose_config("evaluate", overrides)
    results, training = evaluate(cfg).read_text().split("How the models were trained")
    table = [line.split("|")[1:-1] for line in results.splitlines() if line.startswith("| tiny")]
    assert [row[0].strip() for row in table] == ["tiny", "tiny_light"]
    # From the checkpoints: steps, image size, batch, images seen, content / style / tv weights, style image size.
    table = [[cell.strip() for cell in line.split("|")[1:-1]] for line in training.splitlines() if line.startswith("| tiny")]
    assert [row[:7] for row in table] == [
        ["tiny", "3", "32", "2", "6", "1 / 100000 / 0", "64 px"],
        ["tiny_light", "3", "32", "2", "6", "1 / 1000 / 0", "64 px"],
    ]
    assert all(row[7].endswith(" h") and row[8].startswith("CPU") for row in table)
    with open(tmp_path / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4  # 2 models x 2 eval photos
    for row in rows:
        assert float(row["content"]) >= 0 and float(row["style"]) > 0 and float(row["seconds"]) > 0
        assert -1 <= float(row["ssim"]) <= 1 and 0 < float(row["psnr"]) < 100
    gallery = Image.open(tmp_path / "gallery.jpg")
    assert gallery.width == 3 * (32 + 4) + 4 and gallery.height > 3 * (32 + 4)  # photo + 2 models; header row
    tiles = np.asarray(gallery.convert("L"), dtype=np.float32)
    top = gallery.height - 3 * (32 + 4) - 4  # the paintings' row, under the header
    assert tiles[top + 4 : top + 36, 4:36].mean() > 250  # no painting above the photos
    assert tiles[top + 4 : top + 36, 40:72].std() > 5  # each model's painting above its column
    assert len(list((tmp_path / "images").rglob("*.jpg"))) == 4


def test_two_files_of_one_model_name_are_told_apart(tiny_data, tiny_models, style_dir, tmp_path):
    retrained = tmp_path / "retrained" / tiny_models[0].name
    retrained.parent.mkdir()
    shutil.copy(tiny_models[0], retrained)
    output = tmp_path / "eval"
    overrides = evaluate_overrides(tiny_data, output, f"ckpts=[{tiny_models[0]},{retrained},{tiny_models[1]}]",
                                   f"style_dir={style_dir}")
    report = evaluate(compose_config("evaluate", overrides)).read_text()
    means, side_by_side = report.split("How the models were trained")[0].split("Styles that several models paint")
    names = [line.split("|")[1].strip() for line in means.splitlines() if line.startswith("| tiny")]
    assert names == [f"tiny ({tiny_models[0]})", f"tiny ({retrained})", "tiny_light"]
    compared = [line.split("|")[2].strip() for line in side_by_side.splitlines() if line.startswith("| tiny")]
    assert compared == [f"tiny ({tiny_models[0]})", f"tiny ({retrained})"]  # the same painting: side by side


def test_evaluate_adds_the_optimization_baseline_per_style(tiny_data, tiny_models, tmp_path):
    overrides = evaluate_overrides(
        tiny_data, tmp_path, f"ckpts={tiny_models[0].parent}", "optimization.enabled=true", "optimization.steps=4", "max_images=1"
    )
    results = evaluate(compose_config("evaluate", overrides)).read_text().split("How the models were trained")[0]
    methods = [line.split("|")[2].strip() for line in results.splitlines() if line.startswith("| tiny")]
    assert methods == ["fst", "optimization"]
    with open(tmp_path / "results.csv") as f:
        optimized = [r for r in csv.DictReader(f) if r["method"] == "optimization"]
    assert len(optimized) == 1 and float(optimized[0]["seconds"]) > 0


def test_evaluate_names_bad_inputs(tiny_data, tiny_models, tmp_path):
    assert_one_line_error(
        run_script("evaluate.py", *evaluate_overrides(tiny_data, tmp_path / "a", f"ckpts={tmp_path / 'missing.safetensors'}")),
        "checkpoint not found", "missing.safetensors", "pass ckpts=<file> or a shipped model's name",
    )
    assert_one_line_error(
        run_script("evaluate.py", *evaluate_overrides(tiny_data, tmp_path / "b", f"ckpts={tiny_models[0]}", f"style_dir={tmp_path}")),
        "no style image 'tiny.*'", "style_dir",
    )
    random_image((40, 40)).save(tmp_path / "not_a_model.safetensors", format="PNG")
    assert_one_line_error(
        run_script("evaluate.py", *evaluate_overrides(tiny_data, tmp_path / "c", f"ckpts={tmp_path / 'not_a_model.safetensors'}")),
        "not_a_model.safetensors",
    )


def test_psnr_is_the_usual_definition(tiny_models):
    from fst.evaluation.metrics import score

    criterion = make_loss()
    criterion.set_style(torch.rand(1, 3, 32, 32))
    photo = torch.rand(1, 3, 32, 32)
    noisy = (photo + 0.1 * torch.randn_like(photo)).clamp(0, 1)
    expected = 10 * torch.log10(1 / (noisy - photo).pow(2).mean())
    assert score(criterion, noisy, photo)["psnr"] == pytest.approx(expected.item(), rel=1e-4)


def test_scored_losses_are_linear_in_their_weights():
    """What lets the side-by-side table rescale a model trained with other weights to the reference's."""
    from fst.evaluation.metrics import score

    torch.manual_seed(0)
    painting, photo, stylized = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    scores = []
    for content_weight, style_weight in ((1.0, 3e4), (2.5, 4.5e4)):
        torch.manual_seed(1)  # the same random VGG for both
        criterion = make_loss(content_weight=content_weight, style_weight=style_weight)
        criterion.set_style(painting)
        scores.append(score(criterion, stylized, photo))
    assert scores[1]["content"] == pytest.approx(2.5 * scores[0]["content"], rel=1e-5)
    assert scores[1]["style"] == pytest.approx(1.5 * scores[0]["style"], rel=1e-5)


def test_record_writes_the_means_into_each_models_card(tiny_data, tiny_models, style_dir, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    copies = [Path(shutil.copy(path, models / path.name)) for path in tiny_models]
    overrides = evaluate_overrides(tiny_data, tmp_path / "eval", f"ckpts={models}", f"style_dir={style_dir}", "record=true")
    evaluate(compose_config("evaluate", overrides))
    with open(tmp_path / "eval" / "results.csv") as f:
        rows = list(csv.DictReader(f))
    for path in copies:
        evaluation = read_card(path).evaluation[path.stem]
        mine = [row for row in rows if row["model"] == path.stem]
        assert evaluation.photos == len(mine) == 2 and evaluation.size == 32 and evaluation.device.startswith("CPU")
        for metric in ("content", "style", "ssim", "psnr"):
            assert evaluation.__dict__[metric] == pytest.approx(sum(float(r[metric]) for r in mine) / 2, abs=1e-4), metric
        assert read_card(path).training == read_card(next(p for p in tiny_models if p.name == path.name)).training


def test_the_report_puts_a_style_that_several_models_paint_side_by_side():
    card = toy_card(TransformerNet(0.25, 1, "instance", "nearest", "none"), name="a")
    multi = card.replace(name="duo", styles=(StyleSpec("a"), StyleSpec("b")))
    heavier = card.replace(name="a_heavy", loss=dataclasses.replace(card.loss, style_weight=2 * card.loss.style_weight))
    other_layer = card.replace(name="a_deep", loss=dataclasses.replace(card.loss, content_layer="relu4_3"))
    for_video = card.replace(name="a_video", loss=dataclasses.replace(card.loss, temporal_weight=100.0, tv_weight=1e-5))

    def column(name, style, model_card, content, style_loss):
        return Column(name, "fst", 7, StyleSpec(style), model_card, rows=[{"content": content, "style": style_loss, "ssim": 0.5, "psnr": 10.0, "seconds": 0.1}])

    columns = [
        column("duo: a", "a", multi, 11.5, 1.8), column("duo: b", "b", multi, 3.0, 3.0),
        column("a", "a", card, 10.0, 2.0), column("a_heavy", "a", heavier, 5.0, 5.0), column("a_deep", "a", other_layer, 1.0, 1.0),
        column("a_video", "a", for_video, 9.0, 2.2),
    ]
    report = markdown_report(columns, "setting")
    section = report.split("Styles that several models paint")[1].split("How the models were trained")[0]
    rows = [[cell.strip() for cell in line.split("|")[1:-1]] for line in section.splitlines() if line.startswith("| a | ")]
    assert rows == [
        ["a", "duo: a", "11.500", "1.800", "+15.0 %", "-10.0 %"],
        ["a", "a", "10.000", "2.000", "reference", "reference"],
        ["a", "a_heavy", "5.000", "2.500", "-50.0 %", "+25.0 %"],  # its style term is linear in its weight: halved
        ["a", "a_video", "9.000", "2.200", "-10.0 %", "+10.0 %"],  # terms the photos are not scored on do not count
    ]  # b has one model only; a_deep's losses are on another scale
    assert "scored here with the reference's: a_heavy." in report
    assert "Not compared (trained with another loss definition for that style): a_deep." in report
    assert "Styles that several models paint" not in markdown_report(columns[1:3], "setting")  # no style painted twice: no table
