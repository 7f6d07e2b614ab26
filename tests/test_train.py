"""Training end to end: CLI, checkpoints, export, resume, DDP, precision and user errors."""

import csv
import dataclasses
import warnings
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from conftest import assert_one_line_error, compose_config, random_image, run_script, tiny_overrides
from fst.errors import FstError
from fst.hardware import cpu_training_precision
from fst.models import LossSpec, StyleSpec, load_style_model, read_card
from fst.training.run import train, warn_if_bf16_is_emulated

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")


def metrics(run_dir: Path) -> list[dict]:
    with open(run_dir / "csv" / "metrics.csv") as f:
        return list(csv.DictReader(f))


def logged_steps(rows: list[dict], key: str) -> list[int]:
    return [int(r["step"]) for r in rows if r.get(key)]


@pytest.mark.slow
def test_train_script_writes_checkpoints_export_samples_and_metrics(tiny_data, tmp_path):
    # The timed checkpoint fires every step here: it must overwrite last.ckpt too, not add last-v1.ckpt.
    timed = ["callbacks.checkpoint_timed.train_time_interval.minutes=0", "+callbacks.checkpoint_timed.train_time_interval.seconds=0.01"]
    result = run_script("train.py", *tiny_overrides(tiny_data, tmp_path), *timed)
    assert result.returncode == 0, result.stderr[-3000:]
    checkpoints = {p.name for p in (tmp_path / "checkpoints").glob("*.ckpt")}
    assert checkpoints == {"last.ckpt", "step_0000002.ckpt", "step_0000004.ckpt"}
    export = tmp_path / "tiny.safetensors"
    assert f"style model written to {export}" in result.stdout + result.stderr
    card = read_card(export)
    assert card.styles == (StyleSpec("tiny", size=64),) and card.training.steps == 4 and card.fst_version
    assert card.architecture == "transformer_net" and card.network["norm"] == "instance"
    assert card.loss == LossSpec(backbone="vgg16", content_layer="relu2_2", style_layers={"relu1_2": 1.0, "relu2_2": 1.0, "relu3_3": 1.0,
                                 "relu4_3": 1.0}, content_weight=1.0, style_weight=3e4, tv_weight=0.0)  # starry_night's weight
    training = card.training
    # the command picked the fastest preset for this machine: trainer=cpu
    assert (training.image_size, training.batch_size, training.precision) == (32, 2, cpu_training_precision())
    assert (training.optimizer, training.lr, training.lr_scheduler) == ("Adam", 1e-3, None)  # the default constant LR
    assert training.hardware.startswith("CPU: ") and training.seconds >= 0
    net, _ = load_style_model(export)
    assert net(torch.rand(1, 3, 20, 20)).shape == (1, 3, 20, 20)
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == ["step_0000002.jpg", "step_0000004.jpg"]
    rows = metrics(tmp_path)
    for key in ["train/content", "train/style", "train/tv", "train/total", "train/grad_norm", "lr-Adam", "val/total"]:
        assert logged_steps(rows, key), key
    # Lightning checkpoints hold the network, not the frozen VGG16, and load without unpickling code.
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == 4 and all(k.startswith("net.") for k in ckpt["state_dict"])
    # ... and carry the same card as the export (written at the same step, perhaps a second apart)
    ckpt_card = read_card(tmp_path / "checkpoints" / "last.ckpt")
    assert ckpt_card == card.replace(training=dataclasses.replace(card.training, seconds=ckpt_card.training.seconds))


def test_resume_continues_from_the_saved_global_step(tiny_data, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    train(compose_config("train", tiny_overrides(tiny_data, first)))
    # Pretend the first run trained for 1000 s: the resumed run's clock must continue from there.
    saved = torch.load(first / "checkpoints" / "step_0000002.ckpt", weights_only=True)
    assert 0 <= saved["fst"]["training"]["seconds"] < 100
    saved["fst"]["training"]["seconds"] = 1000.0
    torch.save(saved, first / "checkpoints" / "step_0000002.ckpt")
    resumed = [
        *tiny_overrides(tiny_data, second),
        f"ckpt_path={first / 'checkpoints' / 'step_0000002.ckpt'}",
        "trainer.max_steps=6",
        "scheduler=cosine",  # schedules are restored too (T_max follows max_steps)
    ]
    export = train(compose_config("train", resumed))
    training = read_card(export).training
    assert training.steps == 6 and training.hardware.startswith("CPU: ")
    assert 1000 <= training.seconds < 1100  # training time adds up over resumed runs
    # The recipe: the starting LR, not the decayed one the cosine schedule has reached by step 6.
    assert (training.optimizer, training.lr, training.lr_scheduler) == ("Adam", 1e-3, "CosineAnnealingLR")
    assert {p.name for p in (second / "checkpoints").glob("step_*.ckpt")} == {"step_0000004.ckpt", "step_0000006.ckpt"}
    train_steps = logged_steps(metrics(second), "train/total")
    assert min(train_steps) >= 2 and max(train_steps) == 5  # steps 2..5 (0-based) ran, nothing before
    ckpt = torch.load(second / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == 6
    assert ckpt["optimizer_states"][0]["state"][0]["step"] == 6  # Adam's moments continued, not restarted


def lr_by_step(run_dir: Path) -> dict[int, float]:
    return {int(r["step"]): float(r["lr-Adam"]) for r in metrics(run_dir) if r.get("lr-Adam")}


def test_continue_from_an_export_goes_on_at_its_step(tiny_data, tmp_path):
    cosine = ["scheduler=cosine", "trainer.max_steps=8"]
    whole, first, second = tmp_path / "whole", tmp_path / "first", tmp_path / "second"
    train(compose_config("train", [*tiny_overrides(tiny_data, whole), *cosine]))
    # the first half of the same 8-step schedule; only its export survives
    export = train(compose_config("train", [*tiny_overrides(tiny_data, first), *cosine, "trainer.max_steps=4", "scheduler.T_max=8"]))
    seconds_before = read_card(export).training.seconds
    continued = train(compose_config("train", [*tiny_overrides(tiny_data, second), *cosine, f"continue_from={export}"]))
    training = read_card(continued).training
    assert training.steps == 8 and training.seconds >= seconds_before
    assert {p.name for p in (second / "checkpoints").glob("step_*.ckpt")} == {"step_0000006.ckpt", "step_0000008.ckpt"}
    assert logged_steps(metrics(second), "train/total") == [4, 5, 6, 7]
    assert logged_steps(metrics(second), "val/total") == [5, 7]
    # the LR goes on along the whole run's schedule, ramped up over continue_warmup_steps (100) while Adam's
    # moments, restarted at the export, settle
    whole_lr, continued_lr = lr_by_step(whole), lr_by_step(second)
    assert sorted(continued_lr) == [4, 5, 6, 7]
    ramp = {s: 0.01 + 0.99 * (s - 4) / 100 for s in continued_lr}  # torch's LinearLR from 1/100 towards 1
    assert all(continued_lr[s] == pytest.approx(whole_lr[s] * ramp[s], rel=1e-6) for s in continued_lr)
    ckpt = torch.load(second / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == 8 and ckpt["optimizer_states"][0]["state"][0]["step"] == 4


def test_continue_from_starts_with_the_exported_weights_and_checks_them(tiny_data, tmp_path):
    export = train(compose_config("train", tiny_overrides(tiny_data, tmp_path / "first")))  # 4 steps
    # with a zero learning rate the continued run changes nothing: its export is the weights it loaded
    frozen = [*tiny_overrides(tiny_data, tmp_path / "second"), "trainer.max_steps=6", "optimizer.lr=0", f"continue_from={export}"]
    before, _ = load_style_model(export)
    after, card = load_style_model(train(compose_config("train", frozen)))
    assert card.training.steps == 6
    for (name, a), b in zip(before.state_dict().items(), after.state_dict().values()):
        assert torch.equal(a, b), name
    with pytest.raises(FstError, match="style 'tiny', not 'other'; pass style=tiny"):
        train(compose_config("train", [*frozen, "style.name=other"]))
    with pytest.raises(FstError, match="already trained 4 steps and trainer.max_steps=4"):
        train(compose_config("train", [*frozen, "trainer.max_steps=4"]))
    with pytest.raises(FstError, match="continue_from .* another network: model.num_residual_blocks=5"):
        train(compose_config("train", [*frozen, "model.num_residual_blocks=3"]))


@pytest.mark.parametrize("warmup_steps,moved", [(0, "every weight by about lr"), (1000, "by a tiny fraction of lr")])
def test_continue_from_ramps_the_lr_up_while_adams_fresh_moments_settle(tiny_data, tmp_path, warmup_steps, moved):
    fp32 = "callbacks.export.dtype=float32"  # so that small weight changes are not rounded away
    export = train(compose_config("train", [*tiny_overrides(tiny_data, tmp_path / "first"), fp32]))
    overrides = [*tiny_overrides(tiny_data, tmp_path / "second"), fp32, "trainer.max_steps=5", f"continue_from={export}"]
    before, _ = load_style_model(export)
    after, _ = load_style_model(train(compose_config("train", [*overrides, f"continue_warmup_steps={warmup_steps}"])))
    change = torch.cat([(b - a).abs().flatten() for a, b in zip(before.parameters(), after.parameters())])
    # Adam's first step from fresh moments is lr * sign(gradient) for every weight (lr = 1e-3)
    if warmup_steps:
        assert change.max() < 1e-5, moved  # lr / 1000 at the first step of the ramp
    else:
        assert change.median() > 5e-4, moved


def test_resuming_in_the_same_folder_adds_to_the_metrics_history(tiny_data, tmp_path):
    train(compose_config("train", [*tiny_overrides(tiny_data, tmp_path), "data.eval_dir=null"]))
    assert logged_steps(metrics(tmp_path), "train/total") == [0, 1, 2, 3]
    # Resumed from step 2, as after a crash past the last checkpoint: steps 2 and 3 train again and their rows
    # replace the old ones. The resumed run validates too: its val/ columns are new to the file.
    step_2 = tmp_path / "checkpoints" / "step_0000002.ckpt"
    train(compose_config("train", [*tiny_overrides(tiny_data, tmp_path), f"ckpt_path={step_2}", "trainer.max_steps=6"]))
    rows = metrics(tmp_path)
    steps = logged_steps(rows, "train/total")
    assert steps == [0, 1, 2, 3, 4, 5]
    assert logged_steps(rows, "val/total") == [3, 5]  # validated after steps 4 and 6


def test_bf16_mixed_precision_on_cpu_trains(tiny_data, tmp_path):
    overrides = [*tiny_overrides(tiny_data, tmp_path), "trainer=cpu", "trainer.precision=bf16-mixed", "logger=none"]
    export = train(compose_config("train", overrides))
    net, card = load_style_model(export)
    assert card.training.steps == 4
    assert all(torch.isfinite(p).all() for p in net.parameters())


@pytest.mark.filterwarnings("default::UserWarning")
@pytest.mark.parametrize("native_bf16", [True, False])
def test_explicit_bf16_on_a_cpu_that_emulates_it_warns(monkeypatch, native_bf16):
    monkeypatch.setattr("fst.training.run.cpu_has_fast_bf16", lambda: native_bf16)
    trainer = pl.Trainer(accelerator="cpu", precision="bf16-mixed", logger=False, enable_checkpointing=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_if_bf16_is_emulated(trainer)
    emulated = [w for w in caught if "no native bf16" in str(w.message)]
    assert len(emulated) == (0 if native_bf16 else 1)


def test_corrupt_images_in_data_are_skipped_and_counted(tiny_data, tmp_path):
    data = tmp_path / "data"
    (data / "content" / "train").mkdir(parents=True)
    for i in range(4):
        random_image((40, 40), seed=i).save(data / "content" / "train" / f"ok{i}.png")
    (data / "content" / "train" / "corrupt.jpg").write_bytes(b"\xff\xd8 definitely not a jpeg")
    (data / "content" / "train" / "empty.png").write_bytes(b"")
    overrides = [*tiny_overrides(tiny_data, tmp_path / "run"), f"data.train_dir={data / 'content' / 'train'}", "data.eval_dir=null", "trainer.max_steps=8"]
    export = train(compose_config("train", overrides))
    assert read_card(export).training.steps == 8
    skipped = [float(r["data/skipped_files"]) for r in metrics(tmp_path / "run") if r.get("data/skipped_files")]
    assert skipped and max(skipped) == 2


@pytest.mark.slow
def test_ddp_sim_trains_with_two_processes(tiny_data, tmp_path):
    result = run_script("train.py", *tiny_overrides(tiny_data, tmp_path), "trainer=ddp_sim")
    assert result.returncode == 0, result.stderr[-3000:]
    assert read_card(tmp_path / "tiny.safetensors").training.steps == 4
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()


@pytest.mark.slow
@pytest.mark.parametrize(
    "override,fragments",
    [
        ("style.image=/no/such/painting.jpg", ["style image not found: /no/such/painting.jpg", "style.image="]),
        ("data.train_dir=/no/such/photos", ["data.train_dir", "/no/such/photos"]),
        ("ckpt_path=/no/such/last.ckpt", ["ckpt_path", "/no/such/last.ckpt"]),
        ("continue_from=/no/such/candy.safetensors", ["continue_from: style model not found", "/no/such/candy.safetensors"]),
        ("loss.content_layer=relu9_9", ["relu9_9"]),
        ("model.norm=group", ["model.norm"]),
    ],
)
def test_bad_training_input_is_a_one_line_error(tiny_data, tmp_path, override, fragments):
    result = run_script("train.py", *tiny_overrides(tiny_data, tmp_path), override)
    assert_one_line_error(result, *fragments)
    assert not list(tmp_path.glob("**/*.ckpt"))


def test_corrupt_style_image_is_a_user_error(tiny_data, tmp_path):
    (tmp_path / "style.jpg").write_bytes(b"nope")
    with pytest.raises(FstError, match="style.image"):
        train(compose_config("train", [*tiny_overrides(tiny_data, tmp_path), f"style.image={tmp_path / 'style.jpg'}"]))


TINY_BENCHMARK = [
    "data.image_size=32", "data.batch_size=2", "data.num_workers=0", "trainer.accelerator=cpu",
    "model.width=0.25", "model.num_residual_blocks=1",
]


@pytest.mark.slow
def test_training_benchmark_compares_fst_with_the_classic_loop(tiny_data):
    result = run_script(
        "benchmark_train.py", "--steps", "2", "--warmup", "1", "--peak-tflops", "1", *TINY_BENCHMARK,
        env={"FST_DATA_DIR": str(tiny_data)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line.split("|")[1:-1] for line in result.stdout.splitlines() if line.startswith(("| classic", "| fst"))]
    assert len(rows) == 2 and "photos from" in result.stdout
    assert all(len(row) == 8 and float(row[4]) > 0 and row[7].strip().endswith("%") for row in rows)
    assert "x images/s" in result.stdout and "x peak memory" in result.stdout


@pytest.mark.slow
def test_training_benchmark_compares_the_losses_of_the_optimized_and_fp32_paths(tiny_data):
    result = run_script(
        "benchmark_train.py", "--quality", "2", *TINY_BENCHMARK, "trainer.precision=bf16-mixed",
        f"style.image={tiny_data / 'styles' / 'tiny.png'}", "style.size=64",
        env={"FST_DATA_DIR": str(tiny_data)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {line.split("|")[1].strip(): line.split("|")[2:-1] for line in result.stdout.splitlines() if line.startswith("| ")}
    assert rows["fp32"][0].strip() == "32" and rows["optimized"][0].strip() == "bf16-mixed"
    assert all(float(value) > 0 for row in (rows["fp32"], rows["optimized"]) for value in row[1:])
    assert "content loss: optimized vs fp32" in result.stdout and "style loss: optimized vs fp32" in result.stdout
