"""The README and the docs run as written: every fst command in their shell blocks, and every Python example, runs
from a fresh folder, on tiny data.

Each command is run as the page writes it, with overrides appended that only make it small (few steps, small
images, a random VGG) and the placeholders (photo.jpg, /path/to/painting.jpg, runs/...) standing for real files.
Python examples run as written too, with fst.train's runs made small the same way.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import REPO, random_image
from fst.models import read_card

pytestmark = pytest.mark.slow

STYLES = ["starry_night", "great_wave", "the_scream", "composition_vii", "candy", "mosaic", "udnie", "feathers",
          "la_muse", "rain_princess"]
# Only what makes a command small; appended, so the README's own options stay as written.
SMALL = {
    "train": ["data.image_size=32", "data.batch_size=2", "data.num_workers=0", "data.eval_max_images=2", "num_samples=2",
              "style.size=64", "trainer.max_steps=2", "trainer.val_check_interval=2", "logger=csv",
              "callbacks.checkpoint.every_n_train_steps=2", "model.width=0.25", "model.num_residual_blocks=1"],
    "stylize": ["compile=false"],
    "evaluate": ["size=32", "max_images=2", "optimization.steps=2", "progress=false"],
    "optimize": ["size=32", "steps=2", "progress=false"],
    "export": [],
    "models": [],
}


def small(words: list[str]) -> list[str]:
    """SMALL's options for a command, less those its own options leave nothing to (train refuses them there)."""
    extra = SMALL[command_name(words)]
    own_network = ("experiment=adapt", "experiment=multi_style_fast", "experiment=arbitrary")
    own_styles = ("experiment=multi_style", "experiment=multi_style_fast", "experiment=arbitrary")
    if any(w.startswith("base=") or w in own_network for w in words):
        extra = [e for e in extra if not e.startswith("model.")]  # the base or the preset brings its network
    if any(w.startswith("styles=") or w in own_styles for w in words):
        extra = [e for e in extra if not e.startswith("style.")]  # each style its own painting size
    if "experiment=temporal" in words and not any(w.startswith("continue_from=") for w in words):
        # a shipped model by name: its own network, fine-tuned two steps past its own
        style = next(w.removeprefix("style=") for w in words if w.startswith("style="))
        extra = [e for e in extra if not e.startswith("model.")] + [f"trainer.max_steps={shipped_steps(style) + 2}"]
    return list(extra)


def shipped_steps(name: str) -> int:
    return read_card(REPO / "checkpoints" / f"{name}.safetensors").training.steps


# The pages whose examples are run: the README and the docs, less the training log (a record of past runs).
PAGES = [REPO / "README.md", *sorted(p for p in (REPO / "docs").glob("*.md") if p.name != "training-log.md")]


def readme_commands() -> list[str]:
    """The fst commands of the pages' bash blocks, one string each (continuations joined, comments dropped), each
    once."""
    text = "\n".join(page.read_text() for page in PAGES)
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            for part in line.split("&&"):
                words = shlex.split(part, comments=True)
                while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):  # FOO=bar before a command: the test's env
                    words = words[1:]
                fst = words[:1] and (words[0].startswith("fst-") or (words[0] == "python" and words[1].startswith("scripts/")))
                if fst and command_name(words) in SMALL and shlex.join(words) not in commands:  # fst's commands
                    commands.append(shlex.join(words))
    return commands


def python_examples() -> list[tuple[str, str]]:
    """(where, code) of each Python block of the pages."""
    return [(f"{page.relative_to(REPO).as_posix()}:{index}", code) for page in PAGES
            for index, code in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(), re.S))]


def command_name(words: list[str]) -> str:
    return words[0].removeprefix("fst-") if words[0].startswith("fst-") else Path(words[1]).stem


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Path:
    """A working folder with tiny data, the files the README's examples name, and tiny models in runs/."""
    root = tmp_path_factory.mktemp("readme")
    data = root / "data"
    (data / "styles").mkdir(parents=True)
    for index, style in enumerate(STYLES):
        random_image((64, 48), seed=300 + index).save(data / "styles" / f"{style}.jpg")
    for folder, count in [("train", 6), ("eval", 2)]:
        (data / "content" / folder).mkdir(parents=True)
        for i in range(count):
            random_image((48, 40), seed=i + (0 if folder == "train" else 50)).save(data / "content" / folder / f"{i}.jpg")
    random_image((48, 36), seed=1).save(root / "photo.jpg")
    for index, name in enumerate(["painting", "my_painting", "a", "b"]):
        random_image((64, 48), seed=2 + 100 * index).save(root / f"{name}.jpg")
    (root / "paintings").mkdir()  # a corpus of paintings
    for i in range(3):
        random_image((64, 48), seed=400 + i).save(root / "paintings" / f"{i}.jpg")
    random_image((300, 200), seed=3).save(root / "huge.jpg")
    for folder in ("holiday", "my_photos"):
        (root / folder).mkdir()
        for i in range(2):
            random_image((40, 30), seed=10 + i).save(root / folder / f"{i}.jpg")
    frames = [random_image((32, 24), seed=20 + i) for i in range(3)]
    frames[0].save(root / "cat.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    write_video(root / "clip.mp4")
    (root / "checkpoints").symlink_to(REPO / "checkpoints")
    for args in (["style=candy", "run_name=v1"], ["experiment=demo", "run_name=demo"],
                 ["model=conditional_transformer_net", "styles=[candy,udnie,mosaic]", "model_name=trio", "run_name=run"]):
        words = ["python", "scripts/train.py", *args]
        result = run(root, [*words, *small(words)])
        assert result.returncode == 0, result.stderr[-3000:]
    return root


def write_video(path: Path) -> None:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "yuv420p"
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.asarray(random_image((32, 24), seed=30 + i)), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def run(root: Path, words: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    """A command (python scripts/<name>.py, fst-<name>, or python -c <code>) in the sandbox's environment."""
    if words[:2] == ["python", "-c"]:
        executable, start = [sys.executable], 1
    elif words[0] == "python":
        executable, start = [sys.executable, str(REPO / words[1])], 2
    else:
        executable, start = [str(Path(sys.executable).parent / words[0])], 1
    env = {**os.environ, "FST_DATA_DIR": str(root / "data"), "FST_VGG_WEIGHTS": "random", "FST_VGG19_WEIGHTS": "random",
           "FST_LOG_DIR": str(root / "runs"), "FST_CACHE_DIR": str(root / "cache"), "PYTHONWARNINGS": "ignore"}
    return subprocess.run([*executable, *words[start:]], cwd=cwd or root, env=env, capture_output=True, text=True,
                          timeout=600)


def concrete(command: str, root: Path) -> list[str]:
    """The README's placeholders as the sandbox's files."""
    command = command.replace("<date>_<time>", "demo").replace("/path/to/painting.jpg", str(root / "painting.jpg"))
    command = command.replace("/path/to/paintings/images", str(root / "paintings"))
    command = command.replace("../shared/data", str(root / "data"))
    return shlex.split(command)


COMMANDS = readme_commands()


EXAMPLES = python_examples()


def test_the_pages_have_commands_for_every_fst_command_and_python_examples():
    names = {command_name(shlex.split(c)) for c in COMMANDS}
    assert names >= {"train", "stylize", "export", "evaluate", "optimize", "models"} and len(COMMANDS) > 30
    readme = (REPO / "README.md").read_text()
    assert "python scripts/train.py experiment=demo" in readme and 'pip install -e ".[dev]" && ruff check . && pytest' in readme
    assert {where.split(":")[0] for where, _ in EXAMPLES} >= {"README.md", "docs/python-api.md", "docs/export.md"}


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_runs(command, sandbox):
    words = concrete(command, sandbox)
    if any(w in ("trainer=gpu", "trainer=ddp") for w in words) and not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    name = command_name(words)
    extra = small(words)
    if name == "evaluate":  # each run its own report folder
        extra.append(f"output={sandbox / 'eval' / str(COMMANDS.index(command))}")
    if name in ("stylize", "export", "optimize"):
        extra.append("overwrite=true")
    if any(w.startswith("continue_from=") for w in words):  # past the sandbox model's 2 steps
        extra.append("trainer.max_steps=4")
    result = run(sandbox, [*words, *extra])
    assert result.returncode == 0, f"{shlex.join(words)}\n{result.stdout[-1500:]}\n{result.stderr[-2500:]}"
    shutil.rmtree(sandbox / "exported", ignore_errors=True)


# Files a Python example reads that a command makes first.
PREPARE = {"exported/starry_night.onnx": ["python", "scripts/export.py", "ckpt=starry_night", "format=onnx"]}
# fst.train as the examples call it, with SMALL's options appended.
PRELUDE = """
import fst, fst.api
def _small_train(overrides=(), _train=fst.api.train):
    return _train([*overrides, *{small!r}])
fst.train = _small_train
"""


@pytest.mark.parametrize("where,code", EXAMPLES, ids=[where for where, _ in EXAMPLES])
def test_python_example_runs(where, code, sandbox):
    """Each example in a folder of its own, beside the sandbox's files (photo.jpg, holiday/, clip.mp4, runs/, ...)."""
    folder = sandbox / "python" / where.replace("/", "_").replace(":", "_")
    folder.mkdir(parents=True)
    for entry in sandbox.iterdir():
        if entry.name not in ("python", "stylized", "exported", "eval"):
            (folder / entry.name).symlink_to(entry)
    for needed, words in PREPARE.items():
        if needed in code:
            result = run(sandbox, words, cwd=folder)
            assert result.returncode == 0, result.stderr[-2000:]
    result = run(sandbox, ["python", "-c", PRELUDE.format(small=SMALL["train"]) + code], cwd=folder)
    assert result.returncode == 0, f"{where}\n{code}\n{result.stdout[-1500:]}\n{result.stderr[-2500:]}"
