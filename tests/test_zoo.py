"""The shipped style models in checkpoints/: they load, carry their cards, and each stylizes differently."""

from __future__ import annotations

import pytest
import torch
from hydra.utils import instantiate

from conftest import REPO, SHARED, SHARED_VGG, compose_config, needs_shared
from fst.models import load_style_model, read_card

ALL_SHIPPED = sorted((REPO / "checkpoints").glob("*.safetensors"))
SHIPPED = [path for path in ALL_SHIPPED if read_card(path).architecture == "transformer_net"]  # one style each
MULTI_STYLE = REPO / "checkpoints" / "multi_style.safetensors"
LIGHT = REPO / "checkpoints" / "multi_style_fast.safetensors"  # the same styles in real time on a CPU
needs_shipped = pytest.mark.skipif(not SHIPPED, reason="no trained styles in checkpoints/ yet")
needs_multi_style = pytest.mark.skipif(not MULTI_STYLE.is_file(), reason="checkpoints/multi_style.safetensors is not trained yet")
ADAPTED = REPO / "checkpoints" / "adapted" / "the_scream.safetensors"  # learned on the base below in minutes
ADAPTATION_BASE = REPO / "checkpoints" / "adapted" / "multi_style_base.safetensors"
needs_adapted = pytest.mark.skipif(not ADAPTED.is_file(), reason="no adapted style shipped in checkpoints/adapted/")
ARBITRARY = REPO / "checkpoints" / "arbitrary.safetensors"  # paints any painting
needs_arbitrary = pytest.mark.skipif(not ARBITRARY.is_file(), reason="checkpoints/arbitrary.safetensors is not trained yet")


def photo() -> torch.Tensor:
    """A small smooth synthetic photo: gradients and a disc, so styles have structure to work on."""
    y, x = torch.meshgrid(torch.linspace(0, 1, 64), torch.linspace(0, 1, 64), indexing="ij")
    disc = ((x - 0.5) ** 2 + (y - 0.5) ** 2 < 0.08).float()
    return torch.stack([x, y, 0.3 + 0.5 * disc]).unsqueeze(0)


@needs_shipped
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_model_has_the_documented_card(path):
    card = read_card(path)
    assert card.format_version == 2 and card.name == path.stem and card.architecture == "transformer_net"
    training = card.training
    assert training.image_size == 256 and training.images_seen >= 20_000  # 20 000 images seen at 256 px
    assert training.seconds > 0 and training.hardware and training.precision and (training.optimizer, training.lr) == ("Adam", 1e-3)
    assert card.loss.backbone == "vgg16" and card.styles[0].size == 384
    assert path.stat().st_size < 8 * 2**20  # fp16, a few MB
    # Its evaluation figures are those of its row in the evaluation table (evaluate.py's report).
    e = card.evaluation[path.stem]
    row = f"| {path.stem} | fst | {training.steps} | {e.content:.3f} | {e.style:.3f} | {e.ssim:.3f} | {e.psnr:.2f} |"
    assert row in (REPO / "checkpoints" / "README.md").read_text()


@needs_shipped
def test_every_shipped_style_stylizes_and_differs_from_the_others():
    image = photo()
    outputs = {}
    for path in SHIPPED:
        net, _ = load_style_model(path)
        with torch.no_grad():
            outputs[path.stem] = net(image).clamp(0, 1)
        assert outputs[path.stem].shape == image.shape
        assert (outputs[path.stem] - image).abs().mean() > 0.05, f"{path.stem} barely changes the photo"
    names = list(outputs)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert (outputs[a] - outputs[b]).abs().mean() > 0.02, f"{a} and {b} stylize alike"


@needs_shipped
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_model_is_the_zoo_recipe_fine_tuned_for_video_and_its_card_says_so(path):
    """`experiment=zoo style=<name>`, then `experiment=temporal style=<name>`, reproduce the shipped model: the zoo's
    network and loss weights, then the video fine-tune's stability term and its own output as the anchor."""
    card = read_card(path)
    zoo = compose_config("train", ["experiment=zoo", f"style={path.stem}", "paths.output_dir=/o"])
    video = compose_config("train", ["experiment=temporal", f"style={path.stem}", "paths.output_dir=/o"])
    assert card.name == zoo.style.name and card.network == instantiate(zoo.model).config
    assert card.loss.style_weight == zoo.loss.style_weight
    assert card.loss.content_layer == zoo.loss.content_layer and card.loss.style_layers == zoo.loss.style_layers
    # past the zoo's steps, at most the fine-tune's (a model may ship from one of its checkpoints)
    assert zoo.trainer.max_steps < card.training.steps <= card.training.max_steps == video.trainer.max_steps
    assert card.loss.temporal_weight == video.loss.temporal_weight > 0
    assert card.training.teachers == (path.stem,) and card.training.distill_weight == video.distill_weight


def test_every_shipped_file_is_a_one_style_model_or_a_network_of_all_their_styles():
    # the full network, the light one, and the one that paints any painting (and knows theirs by name)
    several = [path for path in (MULTI_STYLE, LIGHT, ARBITRARY) if path.is_file()]
    assert sorted(ALL_SHIPPED) == sorted([*SHIPPED, *several])
    for path in several:
        assert sorted(read_card(path).style_names) == sorted(p.stem for p in SHIPPED)


@needs_multi_style
def test_shipped_multi_style_model_paints_the_public_zoo_styles_and_documents_them():
    card = read_card(MULTI_STYLE)
    assert card.architecture == "conditional_transformer_net" and card.network["num_styles"] == len(card.styles)
    assert sorted(card.style_names) == sorted(path.stem for path in SHIPPED)  # the 8 public styles, no others
    assert card.loss.backbone == "vgg16" and all(spec.size == 384 for spec in card.styles)
    assert MULTI_STYLE.stat().st_size < 8 * 2**20  # fp16
    readme = (REPO / "checkpoints" / "README.md").read_text()
    for spec in card.styles:  # the side-by-side table (evaluate.py's report): each style's losses, on the scale
        e = card.evaluation[spec.name]  # of its one-style model's loss weights
        reference = read_card(REPO / "checkpoints" / f"{spec.name}.safetensors")
        ratio = reference.loss.weight_for(reference.styles[0]) / card.loss.weight_for(spec)
        assert card.loss.content_weight == reference.loss.content_weight
        assert f"| {spec.name} | multi_style: {spec.name} | {e.content:.3f} | {e.style * ratio:.3f} |" in readme


@needs_multi_style
def test_each_style_of_the_shipped_multi_style_model_paints_differently():
    net, card = load_style_model(MULTI_STYLE)
    image = photo()
    with torch.no_grad():
        outputs = [net(image, torch.eye(len(card.styles))[[i]]).clamp(0, 1) for i in range(len(card.styles))]
    for i, a in enumerate(outputs):
        assert (a - image).abs().mean() > 0.05, f"{card.style_names[i]} barely changes the photo"
        for j in range(i + 1, len(outputs)):
            assert (a - outputs[j]).abs().mean() > 0.02, f"{card.style_names[i]} and {card.style_names[j]} paint alike"


@needs_arbitrary
def test_the_shipped_arbitrary_model_knows_the_shipped_styles_and_documents_its_figures():
    from safetensors import safe_open

    from fst.models.arbitrary_net import ENCODER_VGG

    card = read_card(ARBITRARY)
    assert card.arbitrary and card.architecture == "arbitrary_style_net" and card.training.steps >= 2500
    assert sorted(card.style_names) == sorted(path.stem for path in SHIPPED)  # known by name: style=candy needs no file
    with safe_open(str(ARBITRARY), framework="pt") as f:  # the encoder's VGG16 comes from the loss's weights
        assert not any(key.startswith(ENCODER_VGG) for key in f.keys())
    assert ARBITRARY.stat().st_size < 8 * 2**20
    readme = (REPO / "checkpoints" / "README.md").read_text()
    for spec in card.styles:  # zero-shot for the_scream and udnie, which no training step saw
        e = card.evaluation[spec.name]
        reference = read_card(REPO / "checkpoints" / f"{spec.name}.safetensors")
        ratio = reference.loss.weight_for(reference.styles[0]) / card.loss.weight_for(spec)
        assert f"| {spec.name} | arbitrary: {spec.name} | {e.content:.3f} | {e.style * ratio:.3f} |" in readme


@needs_arbitrary
def test_the_shipped_arbitrary_model_paints_its_known_styles_without_vgg_weights(monkeypatch):
    from fst.models.mixing import painting_style

    monkeypatch.delenv("FST_VGG_WEIGHTS", raising=False)  # a known style's vector needs no VGG16: nothing downloads
    net, card = load_style_model("arbitrary")
    image = photo()
    outputs = []
    for name in card.style_names:
        vector, label = painting_style(net, card, name)
        with torch.no_grad():
            outputs.append(net(image, vector[None]).clamp(0, 1))
        assert label == name and (outputs[-1] - image).abs().mean() > 0.05, f"{name} barely changes the photo"
    for i, a in enumerate(outputs):
        for j in range(i + 1, len(outputs)):
            assert (a - outputs[j]).abs().mean() > 0.01, f"{card.style_names[i]} and {card.style_names[j]} paint alike"


@needs_arbitrary
@needs_shared
def test_the_shipped_arbitrary_model_reads_a_painting_file_as_it_knows_that_painting(monkeypatch):
    from fst.models.mixing import painting_style

    monkeypatch.setenv("FST_VGG_WEIGHTS", str(SHARED_VGG))
    net, card = load_style_model("arbitrary")
    known, _ = painting_style(net, card, "udnie")
    read, label = painting_style(net, card, str(SHARED / "data" / "styles" / "udnie.jpg"))
    other, _ = painting_style(net, card, str(SHARED / "data" / "styles" / "candy.jpg"))
    assert label == "udnie"
    assert (read - known).norm() < 0.1 * (other - known).norm()  # training read it alike (the loss's VGG16, 384 px)


@needs_adapted
def test_shipped_adapted_style_keeps_the_base_convolutions_and_documents_its_time_and_losses():
    card, base = read_card(ADAPTED), read_card(ADAPTATION_BASE)
    assert card.architecture == "transformer_net" and card.name not in base.style_names  # a painting new to the base
    assert base.name in card.training.base and card.training.steps == 500
    assert card.training.seconds <= 20 * 60  # the goal: a tenth of a per-style model's hours
    # Only the new style's scales and shifts trained: every convolution is the base's, bit for bit.
    adapted, _ = load_style_model(ADAPTED)
    base_net, _ = load_style_model(ADAPTATION_BASE)

    def convolutions(net):
        return [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]

    pairs = list(zip(convolutions(adapted), convolutions(base_net), strict=True))
    assert pairs and all(torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias) for a, b in pairs)
    # Its losses beside the per-style model's, as checkpoints/README.md prints them (evaluate.py record=true).
    e, reference = card.evaluation[card.name], read_card(REPO / "checkpoints" / f"{card.name}.safetensors")
    r = reference.evaluation[card.name]
    row = (f"| {card.name} | adapted (scales and shifts) | {card.training.seconds / 60:.0f} min | {e.content:.3f} | {e.style:.3f} "
           f"| {100 * (e.content / r.content - 1):+.1f} % | {100 * (e.style / r.style - 1):+.1f} % |")
    assert row in (REPO / "checkpoints" / "README.md").read_text()


@needs_adapted
def test_the_adapted_models_load_by_name_and_ship_in_the_wheel():
    import tomllib

    from fst.models.zoo import resolve_model, shipped_models
    from fst.resources import CHECKPOINTS_DIR

    shipped = shipped_models()
    assert shipped["adapted/the_scream"] == CHECKPOINTS_DIR / "adapted" / "the_scream.safetensors"
    assert shipped["adapted/multi_style_base"] == CHECKPOINTS_DIR / "adapted" / "multi_style_base.safetensors"
    assert shipped["the_scream"] == CHECKPOINTS_DIR / "the_scream.safetensors"  # the zoo's keeps its plain name
    zoo = sorted(p.stem for p in CHECKPOINTS_DIR.glob("*.safetensors"))
    assert list(shipped)[:len(zoo)] == zoo  # the zoo's first (the lists of names start with candy)
    net, card = load_style_model(resolve_model("adapted/the_scream"))
    assert card.style_names == ["the_scream"] and card.training.base and card.training.steps == 500
    # The wheel's package data (pyproject.toml) takes every shipped model.
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    packaged = {path for pattern in setuptools["package-data"]["fst.checkpoints"] for path in (REPO / "checkpoints").glob(pattern)}
    assert {REPO / "checkpoints" / path.relative_to(CHECKPOINTS_DIR) for path in shipped.values()} <= packaged


@pytest.mark.slow
@needs_adapted
def test_the_adapted_model_stylizes_by_name(tmp_path):
    from conftest import random_image, run_script

    random_image((40, 30), seed=5).save(tmp_path / "photo.jpg")
    result = run_script("stylize.py", "ckpt=adapted/the_scream", f"input={tmp_path / 'photo.jpg'}", "device=cpu",
                        cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    # its own default folder, apart from the shipped the_scream's stylized/the_scream/
    assert (tmp_path / "stylized" / "adapted" / "the_scream" / "photo.jpg").is_file()


def test_unfinished_trainings_in_checkpoints_progress_are_not_models(tmp_path, monkeypatch):
    from fst.models import zoo

    for name in ("candy.safetensors", "adapted/udnie.safetensors", "progress/half_trained.safetensors"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    monkeypatch.setattr(zoo, "CHECKPOINTS_DIR", tmp_path)
    assert list(zoo.shipped_models()) == ["candy", "adapted/udnie"]
