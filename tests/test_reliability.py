"""Fault injection: kills, signals, NaNs, bad data, malicious checkpoints, interrupted writes."""

from __future__ import annotations

import csv
import io
import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import (
    REPO,
    assert_one_line_error,
    compose_config,
    make_net,
    random_image,
    run_script,
    save_toy_model,
    tiny_overrides,
)
from corpus import write_corpus
from fst.data.images import IMAGE_EXTENSIONS, ImageLoadError, open_rgb
from fst.errors import FstError
from fst.losses.vgg import VGGFeatures
from fst.models import load_style_model, read_card
from fst.models.serialization import load_training_checkpoint
from fst.training.module import NonFiniteLossError, StyleTransferModule
from fst.training.run import train

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def small_run(data_dir: Path, run_dir: Path, *extra: str) -> list[str]:
    """A tiny, quick network so runs reach many steps in seconds."""
    return [*tiny_overrides(data_dir, run_dir), "model.width=0.25", "model.num_residual_blocks=1", *extra]


class Training:
    """scripts/train.py in a subprocess whose output is collected while it runs."""

    def __init__(self, overrides: list[str]):
        self.process = subprocess.Popen(
            [sys.executable, str(REPO / "scripts" / "train.py"), *overrides],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=REPO,
            env={**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONUNBUFFERED": "1"},
        )
        self.output = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for chunk in iter(lambda: self.process.stdout.read(64), ""):
            self.output += chunk

    def wait_for(self, condition, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.process.poll() is None, f"training ended early:\n{self.output[-3000:]}"
            assert time.monotonic() < deadline, f"timed out:\n{self.output[-3000:]}"
            time.sleep(0.05)

    def finish(self, timeout: float = 120) -> int:
        code = self.process.wait(timeout)
        self._reader.join(10)
        return code


@pytest.mark.slow
def test_kill_9_at_a_random_step_then_resume_reaches_max_steps_exactly(tiny_data, tmp_path):
    run_dir, max_steps = tmp_path / "run", 60
    overrides = small_run(tiny_data, run_dir, f"trainer.max_steps={max_steps}", "callbacks.checkpoint.every_n_train_steps=3")
    kill_after = random.Random(os.getpid()).choice(range(6, 40, 3))
    checkpoint = run_dir / "checkpoints" / f"step_{kill_after:07d}.ckpt"
    run = Training(overrides)
    run.wait_for(checkpoint.exists)
    run.process.kill()
    assert run.finish() == -signal.SIGKILL
    assert not (run_dir / "tiny.safetensors").exists() or read_card(run_dir / "tiny.safetensors").training.steps < max_steps
    # The kill may land between step_N.ckpt and last.ckpt; ckpt_path=last takes the newest of them.
    saved_step = max(load_training_checkpoint(p)["global_step"] for p in (run_dir / "checkpoints").glob("*.ckpt"))
    assert kill_after <= saved_step < max_steps

    resumed = Training([*overrides, "ckpt_path=last", "logger.name=csv_resumed"])
    assert resumed.finish() == 0, resumed.output[-3000:]
    final = load_training_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    assert final["global_step"] == max_steps
    assert final["optimizer_states"][0]["state"][0]["step"] == max_steps  # Adam continued, not restarted
    with open(run_dir / "csv_resumed" / "metrics.csv") as f:
        header, *rows = [line.split(",") for line in f.read().splitlines()]
    column = header.index("train/total")
    steps = [int(row[header.index("step")]) for row in rows if row[column]]
    assert steps == list(range(saved_step, max_steps))  # continues at the saved step, no gap, no repeat
    assert read_card(run_dir / "tiny.safetensors").training.steps == max_steps
    assert resumed.output.count(f"exported style model: {run_dir / 'tiny.safetensors'} (step {max_steps})") == 1


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_ctrl_c_save_a_checkpoint_before_exiting(tiny_data, tmp_path, signum):
    run_dir = tmp_path / "run"
    overrides = small_run(
        tiny_data, run_dir, "trainer.max_steps=100000", "callbacks.checkpoint.every_n_train_steps=100000", "trainer.val_check_interval=100000"
    )
    run = Training(overrides)
    run.wait_for(lambda: len(re.findall(r" (\d+)/100000 ", run.output)) > 3)  # some steps done
    run.process.send_signal(signum)
    code = run.finish()
    assert code != 0 and "Traceback" not in run.output, run.output[-3000:]
    assert "checkpoint saved to" in run.output
    saved = load_training_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    assert saved["global_step"] > 0
    # The saved state resumes: two more steps from where it stopped.
    export = train(compose_config("train", [*small_run(tiny_data, tmp_path / "resumed"), f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}", f"trainer.max_steps={saved['global_step'] + 2}"]))
    assert read_card(export).training.steps == saved["global_step"] + 2


def scaled_on_call(n: int, factor: float):
    """A total_variation scaled by ``factor`` on its n-th call: NaN as a diverging run would, or a spike."""
    from fst.losses import perceptual

    original, calls = perceptual.total_variation, [0]

    def flaky(image):
        calls[0] += 1
        value = original(image)
        return value * factor if calls[0] == n else value

    return flaky


def nan_on_call(n: int):
    return scaled_on_call(n, float("nan"))


def test_non_finite_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(tiny_data, tmp_path, monkeypatch):
    from fst.losses import perceptual

    monkeypatch.setattr(perceptual, "total_variation", nan_on_call(5))  # training step 4 (0-based)
    cfg = compose_config("train", small_run(tiny_data, tmp_path, "trainer.max_steps=8", "trainer.val_check_interval=100"))
    with pytest.raises(NonFiniteLossError, match="non-finite loss at step 4 .*tv=nan"):
        train(cfg)
    last = load_training_checkpoint(tmp_path / "checkpoints" / "last.ckpt")
    assert last["global_step"] == 4
    assert all(torch.isfinite(v).all() for v in last["state_dict"].values())
    assert read_card(tmp_path / "tiny.safetensors").training.steps == 4


def test_non_finite_batches_can_be_skipped(tiny_data, tmp_path, monkeypatch):
    from fst.losses import perceptual

    monkeypatch.setattr(perceptual, "total_variation", nan_on_call(3))
    cfg = compose_config("train", small_run(tiny_data, tmp_path, "trainer.max_steps=6", "skip_nonfinite_batches=1", "trainer.val_check_interval=100"))
    export = train(cfg)
    net, card = load_style_model(export)
    assert card.training.steps == 6 and all(torch.isfinite(p).all() for p in net.parameters())


def test_gradient_clipping_bounds_a_loss_spike_and_the_log_shows_it(tiny_data, tmp_path, monkeypatch):
    from fst.losses import perceptual

    # One batch's loss jumps a millionfold, as at the start of a divergence.
    monkeypatch.setattr(perceptual, "total_variation", scaled_on_call(3, 1e6))  # training step 2 (0-based)
    applied = []  # gradient norms after Lightning clipped them: what Adam was given

    def record_applied_gradient(module, outputs, batch, batch_idx):
        applied.append(torch.stack([p.grad.norm() for p in module.net.parameters()]).norm().item())

    monkeypatch.setattr(StyleTransferModule, "on_train_batch_end", record_applied_gradient, raising=False)
    overrides = ["loss.tv_weight=1.0", "trainer.gradient_clip_val=0.5", "trainer.max_steps=6", "trainer.val_check_interval=100"]
    export = train(compose_config("train", small_run(tiny_data, tmp_path, *overrides)))
    with open(tmp_path / "csv" / "metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["train/grad_norm"]]
    logged = {int(r["step"]): float(r["train/grad_norm"]) for r in rows}
    others = [v for step, v in logged.items() if step != 2]
    assert len(logged) == 6 and logged[2] > 1000 * max(others)  # logged before clipping: the spike shows
    assert len(applied) == 6 and max(applied) <= 0.5 + 1e-4
    net, _ = load_style_model(export)
    assert all(torch.isfinite(p).all() for p in net.parameters())


def test_a_corpus_of_bad_files_never_stops_training(tiny_data, tmp_path, caplog):
    bad, readable = write_corpus(tmp_path / "photos")
    assert len(bad) >= 30
    overrides = small_run(
        tiny_data, tmp_path / "run", f"data.train_dir={tmp_path / 'photos'}", "data.eval_dir=null", "trainer.max_steps=44", "data.batch_size=2"
    )
    export = train(compose_config("train", overrides))  # 44 files / 2 per batch: every file is met
    assert read_card(export).training.steps == 44
    with open(tmp_path / "run" / "csv" / "metrics.csv") as f:
        header, *rows = [line.split(",") for line in f.read().splitlines()]
    counts = [float(r[header.index("data/skipped_files")]) for r in rows if r[header.index("data/skipped_files")]]
    assert counts[-1] == len(bad)
    summaries = [r.message for r in caplog.records if "unreadable training image" in r.message]
    assert summaries and f"skipped {len(bad)} unreadable" in summaries[-1]


@pytest.mark.slow
def test_stylize_over_the_bad_corpus_reports_every_bad_file(tmp_path):
    bad, readable = write_corpus(tmp_path / "photos")
    ckpt = save_toy_model(make_net(width=0.25, num_residual_blocks=1), tmp_path / "s.safetensors")
    result = run_script("stylize.py", f"ckpt={ckpt}", f"input={tmp_path / 'photos'}", f"output={tmp_path / 'out'}")
    assert result.returncode == 0 and "Traceback" not in result.stdout + result.stderr, result.stderr[-3000:]
    assert f"wrote {len(readable)} file(s)" in result.stdout
    for path in bad:
        assert f"skipped: cannot read image {path}" in result.stdout + result.stderr, path.name
    assert f"{len(bad)} of {len(bad) + len(readable)} inputs could not be read" in result.stdout + result.stderr


@pytest.fixture
def malicious_checkpoint(tmp_path):
    """A pickle that creates a file when unpickled without weights_only (as torch.load once did by default)."""
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {"net.x": Payload()}, "fst": {"model_config": {}}, "global_step": 1}, path)
    return path, marker


def test_malicious_checkpoint_is_refused_everywhere(malicious_checkpoint, tiny_data, tmp_path):
    path, marker = malicious_checkpoint
    with pytest.raises(FstError, match="holds pickled code or objects besides tensors, which fst never loads"):
        load_style_model(path)
    with pytest.raises(FstError, match="cannot read VGG weights"):
        VGGFeatures("vgg16", ["relu1_2"], weights=str(path))
    with pytest.raises(FstError, match="holds pickled code"):
        train(compose_config("train", [*tiny_overrides(tiny_data, tmp_path / "run"), f"ckpt_path={path}"]))
    assert not marker.exists()
    # The payload is real: an unsafe load does run it.
    subprocess.run([sys.executable, "-c", f"import torch; torch.load({str(path)!r}, weights_only=False)"], capture_output=True)
    assert marker.exists()


def test_resuming_with_another_architecture_names_the_difference(tiny_data, tmp_path):
    train(compose_config("train", [*tiny_overrides(tiny_data, tmp_path / "a"), "trainer.max_steps=2", "logger=none"]))
    cfg = compose_config("train", [*tiny_overrides(tiny_data, tmp_path / "b"), f"ckpt_path={tmp_path / 'a/checkpoints/last.ckpt'}", "model.num_residual_blocks=3"])
    with pytest.raises(FstError, match="model.num_residual_blocks=5 in the checkpoint, 3 now"):
        train(cfg)


WRITER = textwrap.dedent(
    """
    import sys, torch
    from conftest import make_net, toy_card
    from fst.models import save_style_model
    from fst.training.checkpoint_io import AtomicCheckpointIO
    net, io = make_net(width=2.0), AtomicCheckpointIO()
    print("ready", flush=True)
    step = 0
    while True:
        step += 1
        save_style_model(net, sys.argv[1], toy_card(net, steps=step), dtype="float32")
        io.save_checkpoint({"state_dict": net.state_dict(), "global_step": step}, sys.argv[2])
    """
)


@pytest.mark.slow
def test_kill_during_writes_leaves_the_old_file_or_none(tmp_path):
    export, checkpoint = tmp_path / "s.safetensors", tmp_path / "last.ckpt"
    rng = random.Random(0)
    for _ in range(4):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(export), str(checkpoint)], stdout=subprocess.PIPE, text=True, cwd=REPO / "tests")
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 1.5))
        writer.kill()
        writer.wait()
        for path in (export, checkpoint):
            if path.exists():  # whatever is there is complete
                if path == export:
                    assert load_style_model(path)[1].training.steps >= 1
                else:
                    assert torch.load(path, weights_only=True)["global_step"] >= 1
    assert export.exists() and checkpoint.exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    "override,fragments",
    [
        ("style=nope", ["unknown style 'nope'", "starry_night", "style.image="]),
        ("loss.style_weight=-1", ["loss.style_weight must be >= 0"]),
        ("data.image_size=0", ["data.image_size must be > 0"]),
        ("+loss.style_layers.relu7_1=1.0", ["unknown vgg16 layer 'relu7_1'"]),
        ("trainer.max_steps=0", ["trainer.max_steps must be > 0"]),
        ("adapt_shared_lr=0", ["adapt_shared_lr must be > 0"]),
        ("adapt_all=true", ["adapt_all=true trains a new style on a multi-style model", "base="]),
        ("adapt_shared_lr=1e-3", ["adapt_shared_lr", "add adapt_all=true"]),
        ("experiment=multi_style", ["style.name would be ignored: each of styles=[...]", "{name: candy, style_weight: 5.0e4}"]),
    ],
)
def test_out_of_range_config_is_a_one_line_error(tiny_data, tmp_path, override, fragments):
    result = run_script("train.py", *tiny_overrides(tiny_data, tmp_path), override)
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "checkpoints").exists()


def test_tiny_style_image_is_refused_before_training(tiny_data, tmp_path):
    random_image((20, 12)).save(tmp_path / "tiny_style.png")
    cfg = compose_config("train", [*tiny_overrides(tiny_data, tmp_path), f"style.image={tmp_path / 'tiny_style.png'}", "style.size=null"])
    with pytest.raises(FstError, match="20x12"):
        train(cfg)


# Headers of every format Pillow might sniff, so random bodies reach deep into the decoders.
HEADERS = [
    b"",
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    b"\x89PNG\r\n\x1a\n",
    b"GIF89a",
    b"BM",
    b"RIFF\x00\x01\x00\x00WEBPVP8 ",
    b"II*\x00",
    b"MM\x00*",
    b"P6\n4 4\n255\n",
    b"\x00\x00\x01\x00",
    b"8BPS",
]


def _valid_png() -> bytes:
    buffer = io.BytesIO()
    random_image((16, 12)).save(buffer, format="PNG")
    return buffer.getvalue()


VALID_PNG = _valid_png()


def _load_only_raises_image_load_error(tmp_path: Path, data: bytes, extension: str) -> None:
    path = tmp_path / f"sample{extension}"
    path.write_bytes(data)
    try:
        image = open_rgb(path)
    except ImageLoadError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
    else:
        assert image.mode == "RGB" and image.width > 0 and image.height > 0

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@PROPERTY_SETTINGS
@given(header=st.sampled_from(HEADERS), body=st.binary(max_size=4096), extension=st.sampled_from(IMAGE_EXTENSIONS))
def test_image_loader_on_random_bytes_raises_only_its_documented_error(tmp_path, header, body, extension):
    _load_only_raises_image_load_error(tmp_path, header + body, extension)


@PROPERTY_SETTINGS
@given(edits=st.lists(st.tuples(st.integers(0, len(VALID_PNG) - 1), st.integers(0, 255)), min_size=1, max_size=8), cut=st.integers(1, len(VALID_PNG)))
def test_image_loader_on_damaged_pngs_raises_only_its_documented_error(tmp_path, edits, cut):
    data = bytearray(VALID_PNG)
    for position, value in edits:
        data[position] = value
    _load_only_raises_image_load_error(tmp_path, bytes(data[:cut]), ".png")


def test_checkpoints_are_also_written_by_wall_time(tiny_data, tmp_path):
    overrides = small_run(
        tiny_data, tmp_path, "callbacks.checkpoint.every_n_train_steps=1000", "callbacks.checkpoint_timed.train_time_interval.minutes=0"
    )
    train(compose_config("train", overrides))
    assert not list((tmp_path / "checkpoints").glob("step_*.ckpt"))  # the step schedule never fired
    assert load_training_checkpoint(tmp_path / "checkpoints" / "last.ckpt")["global_step"] == 4


def test_checkpoint_with_missing_or_extra_tensors_names_them(tmp_path):
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    path = save_toy_model(make_net(width=0.25, num_residual_blocks=1), tmp_path / "m.safetensors")
    with safe_open(str(path), "pt") as f:
        metadata = f.metadata()
    state = load_file(path)
    del state["decoder.2.1.bias"]
    state["extra.weight"] = torch.zeros(1)
    save_file(state, path, metadata=metadata)
    with pytest.raises(FstError, match=r"missing \['decoder.2.1.bias'\], unexpected \['extra.weight'\]"):
        load_style_model(path)


# Values that torch and Lightning take when built and fail on (or quietly misuse) once training runs.
TRAINING_VALUE_ERRORS = [
    ("optimizer.lr=-1", "optimizer.lr must be >= 0, got -1"),
    ("optimizer.lr=fast", "optimizer.lr must be >= 0, got fast"),
    ("+optimizer.weight_decay=-0.1", "optimizer.weight_decay must be >= 0, got -0.1"),
    ("+optimizer.betas=[2,0.9]", "optimizer: Invalid beta parameter at index 0: 2"),
    ("+optimizer.momentum=0.9", "optimizer: Adam.__init__() got an unexpected keyword argument 'momentum'"),
    ("optimizer._target_=torch.optim.Nope", "optimizer._target_=torch.optim.Nope cannot be imported"),
    ("scheduler=cosine scheduler.T_max=0", "scheduler.T_max must be > 0, got 0"),
    ("scheduler=step scheduler.gamma=-1", "scheduler.gamma must be > 0, got -1"),
    ("scheduler=step +scheduler.warmup=5", "scheduler: StepLR.__init__() got an unexpected keyword argument 'warmup'"),
    ("trainer.val_check_interval=0", "trainer.val_check_interval must be > 0"),
    ("trainer.accumulate_grad_batches=0", "trainer.accumulate_grad_batches must be >= 1, got 0"),
    ("trainer.gradient_clip_val=-1", "trainer.gradient_clip_val must be >= 0"),
    ("trainer.max_epochs=0", "trainer.max_epochs=0 would train nothing"),
    ("trainer.devices=0", "trainer: `Trainer(devices=0)` value is not a valid input"),
    ("trainer.gradient_clip_algorithm=sideways", "trainer: `gradient_clip_algorithm` sideways is invalid"),
    ("callbacks.checkpoint.every_n_train_steps=-1", "callbacks.checkpoint: Invalid value for every_n_train_steps=-1"),
    ("callbacks.checkpoint_timed.train_time_interval.minutes=-1", "callbacks.checkpoint_timed.train_time_interval must not be negative"),
    ("seed=-1", "seed must be between 0 and 4294967295, got -1"),
]


@pytest.mark.parametrize("overrides,message", TRAINING_VALUE_ERRORS, ids=[o for o, _ in TRAINING_VALUE_ERRORS])
def test_training_option_values_are_checked_before_training(tiny_data, tmp_path, overrides, message):
    cfg = compose_config("train", [*small_run(tiny_data, tmp_path), *overrides.split()])
    with pytest.raises(FstError) as error:
        train(cfg)
    assert message in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "checkpoints").exists()  # refused before the first step


@pytest.mark.slow
@pytest.mark.parametrize("override,message", [TRAINING_VALUE_ERRORS[0], TRAINING_VALUE_ERRORS[10]])
def test_training_option_values_are_one_line_errors_on_the_command_line(tiny_data, tmp_path, override, message):
    result = run_script("train.py", *tiny_overrides(tiny_data, tmp_path), override)
    assert_one_line_error(result, message)
    assert not (tmp_path / "checkpoints").exists()


def test_the_resume_hint_names_the_command_the_user_ran(monkeypatch):
    from fst.training.resume import resume_command

    overrides, extra = ["style=candy", "run_name=old", "trainer.max_steps=9"], ["ckpt_path=/r/last.ckpt"]
    monkeypatch.setattr(sys, "argv", ["/home/me/.venv/bin/fst-train", "style=candy"])
    assert resume_command(overrides, extra) == "fst-train style=candy trainer.max_steps=9 ckpt_path=/r/last.ckpt"
    monkeypatch.setattr(sys, "argv", ["scripts/train.py", "style=candy"])
    assert resume_command(overrides, extra) == "python scripts/train.py style=candy trainer.max_steps=9 ckpt_path=/r/last.ckpt"


def test_an_offline_vgg_download_says_to_set_the_local_weights(monkeypatch):
    import urllib.error

    from torchvision.models import VGG16_Weights, VGG19_Weights

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    for weights, variable, backbone in ((VGG16_Weights, "FST_VGG_WEIGHTS", "vgg16"), (VGG19_Weights, "FST_VGG19_WEIGHTS", "vgg19")):
        monkeypatch.setattr(weights, "get_state_dict", offline)
        with pytest.raises(FstError) as error:
            VGGFeatures(backbone, ["relu2_2"], weights="imagenet")
        assert f"set {variable}=/path/to/{backbone}.safetensors" in str(error.value) and "\n" not in str(error.value)
