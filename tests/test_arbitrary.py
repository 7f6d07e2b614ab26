"""A network that paints any painting (fst.models.arbitrary_net): the style encoder, painting files and mixes as
``style=``, its start from a multi-style model, and training on a folder of paintings."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file, save_file

import fst
from conftest import (
    assert_one_line_error,
    compose_config,
    make_stylizer,
    random_image,
    run_onnx_alone,
    run_script,
    save_toy_model,
    tiny_overrides,
    toy_card,
)
from fst.commands.stylize import stylize_config
from fst.data.datamodule import eval_transform
from fst.data.images import load_image
from fst.errors import FstError
from fst.export.formats import export
from fst.inference.color import keep_colors
from fst.losses.perceptual import REFERENCE_GRAM_ENERGY, gram_matrix, painting_weights
from fst.losses.vgg import vgg_features
from fst.models import StyleSpec, load_style_model, read_card, save_style_model
from fst.models.arbitrary_net import (
    ENCODER_SIZE,
    ENCODER_VGG,
    STATISTICS,
    ArbitraryStyleNet,
    start_from_multi_style,
    to_multi_style,
)
from fst.models.conditional_net import ConditionalTransformerNet
from fst.models.mixing import painting_style, style_label
from fst.models.serialization import file_state
from fst.models.transformer_net import TransformerNet
from fst.options import ExportOptions
from fst.training.run import train

OPTIONS = dict(width=0.25, num_residual_blocks=1, upsampling="nearest", output_activation="none")


def arbitrary_net(known: int = 2, seed: int = 0) -> ArbitraryStyleNet:
    torch.manual_seed(seed)
    net = ArbitraryStyleNet(embedding_size=6, known_styles=known, **OPTIONS).eval()
    net.known_statistics.copy_(torch.rand(known, STATISTICS))
    return net


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """An untrained model that knows two styles by name, saved as a model file."""
    net = arbitrary_net()
    card = toy_card(net, "arbitrary").replace(styles=(StyleSpec("dots"), StyleSpec("waves")))
    return save_style_model(net, tmp_path_factory.mktemp("arbitrary") / "arbitrary.safetensors", card, dtype="float32")


@pytest.fixture(scope="module")
def paintings(tmp_path_factory):
    folder = tmp_path_factory.mktemp("paintings")
    for seed in range(3):
        random_image((72, 56), seed=200 + seed).save(folder / f"painting{seed}.png")
    return folder


def test_the_encoder_gives_one_style_vector_per_painting_deterministically(paintings):
    net = arbitrary_net()
    painting = load_image(paintings / "painting0.png")
    vector = net.encode(painting)
    assert vector.shape == (7,) and vector[-1] == 1  # the embedding, then the constant of the scales' and shifts' mean
    assert torch.equal(vector, net.encode(painting[None]))
    assert not torch.allclose(vector, net.encode(load_image(paintings / "painting1.png")))
    # the same network rebuilt from its file describes the painting alike
    assert torch.equal(vector, arbitrary_net().encode(painting))


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory):
    """A VGG16 weights file, standing for FST_VGG_WEIGHTS (the ImageNet VGG16 every machine has)."""
    path = tmp_path_factory.mktemp("vgg") / "vgg16.safetensors"
    torch.manual_seed(1)
    save_file({k: v.half() for k, v in vgg_features("vgg16").state_dict().items()}, str(path))
    return path


def test_a_model_file_leaves_out_the_encoders_imagenet_vgg_and_loading_reads_it_from_the_loss_source(
        paintings, vgg_file, tmp_path, monkeypatch):
    vgg = vgg_file
    torch.manual_seed(0)
    net = ArbitraryStyleNet(embedding_size=6, known_styles=0, vgg_weights=str(vgg), **OPTIONS).eval()
    path = save_style_model(net, tmp_path / "arbitrary.safetensors", toy_card(net, "arbitrary"), dtype="float32")
    keys = load_file(str(path)).keys()
    assert keys and not any(key.startswith(ENCODER_VGG) for key in keys) and "style_encoder.mlp.0.weight" in keys

    monkeypatch.setenv("FST_VGG_WEIGHTS", str(vgg))
    loaded, _ = load_style_model(path)
    painting = load_image(paintings / "painting0.png")
    torch.testing.assert_close(loaded.encode(painting), net.encode(painting))
    resaved = save_style_model(loaded, tmp_path / "again.safetensors", toy_card(net, "arbitrary"), dtype="float32")
    assert load_file(str(resaved)).keys() == keys  # a loaded model's file leaves it out again

    # the VGG16 is read when a painting is first encoded: a model painting only its known styles never needs it
    monkeypatch.setenv("FST_VGG_WEIGHTS", str(tmp_path / "gone.safetensors"))
    unread, _ = load_style_model(path)
    resaved = save_style_model(unread, tmp_path / "unread.safetensors", toy_card(net, "arbitrary"), dtype="float32")
    assert load_file(str(resaved)).keys() == keys
    with pytest.raises(FstError, match="arbitrary.safetensors reads paintings .* FST_VGG_WEIGHTS=.*gone.safetensors, "
                                       "which is not a file"):
        unread.encode(painting)
    # a random VGG (as every toy model here has) cannot be read again from anywhere: its file keeps it
    random_vgg = arbitrary_net()
    kept = save_style_model(random_vgg, tmp_path / "toy.safetensors", toy_card(random_vgg, "toy"), dtype="float32")
    assert any(key.startswith(ENCODER_VGG) for key in load_file(str(kept)))


def test_a_painting_file_is_a_style_and_two_paintings_mix(model_file, paintings):
    net, card = load_style_model(model_file)
    first, second = (str(paintings / f"painting{i}.png") for i in (0, 1))
    one, name = painting_style(net, card, first)
    assert name == "painting0" and torch.equal(one, net.encode(load_image(first, long_side=ENCODER_SIZE)))
    mix, name = painting_style(net, card, f"{first}:1,{second}:3")
    assert name == "painting025+painting175"  # each painting's name and share in %
    assert torch.allclose(mix, 0.25 * one + 0.75 * net.encode(load_image(second, long_side=ENCODER_SIZE)), atol=1e-6)
    photo = random_image((40, 32), seed=3)
    model = fst.load(str(model_file))
    painted = model.stylize(photo, style=first)
    assert painted.size == photo.size
    assert painted.tobytes() != model.stylize(photo, style=second).tobytes()


def test_known_styles_mix_as_their_vectors(model_file):
    net, card = load_style_model(model_file)
    dots, _ = painting_style(net, card, "dots")
    waves, _ = painting_style(net, card, "waves")
    mix, name = painting_style(net, card, "dots:0.5,waves:0.5")
    assert name == "dots50+waves50" and torch.allclose(mix, (dots + waves) / 2, atol=1e-6)


def test_stylize_takes_a_painting_file(model_file, paintings, tmp_path):
    photo = tmp_path / "photo.png"
    random_image((40, 32), seed=4).save(photo)
    result = run_script("stylize.py", f"ckpt={model_file}", f"input={photo}", f"style={paintings / 'painting2.png'}",
                        f"output={tmp_path / 'out'}", "device=cpu")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "photo.png").is_file()


def test_the_figures_script_paints_a_gallery_row_per_painting_file(model_file, paintings, tmp_path):
    photo = tmp_path / "photo.png"
    random_image((48, 40), seed=5).save(photo)
    # paintings far apart (flat dark, and noise), so that even an untrained encoder tells them apart
    Image.new("RGB", (60, 50), (20, 10, 40)).save(tmp_path / "dark.png")
    files = [str(tmp_path / "dark.png"), str(paintings / "painting0.png")]
    result = run_script("multi_style_figures.py", "--ckpt", str(model_file), "--photos", str(photo), "--size", "32",
                        "--styles", *files, "dots", "--gallery", "gallery.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    gallery = np.asarray(Image.open(tmp_path / "gallery.png").convert("RGB"), dtype=np.float32) / 255
    cell, header = 32 + 4, 16  # a 32 px tile and its padding; the column names above the grid
    assert gallery.shape[0] == header + 4 * cell + 4  # the photo's row, then the two paintings and the known style
    # each row's painted photo (second column) is the photo in that row's style: nearest to its own expectation
    net, card = load_style_model(model_file)
    x = eval_transform(32)(Image.open(photo))
    with torch.no_grad():
        expected = [net(x[None], painting_style(net, card, spec)[0][None])[0].clamp(0, 1).permute(1, 2, 0).numpy()
                    for spec in (*files, "dots")]
    top = [gallery.shape[0] - (3 - row) * cell for row in range(3)]  # rows 1 to 3, left of the bottom padding
    painted = [gallery[y:y + 32, -cell:-4] for y in top]
    for row, image in enumerate(painted):
        differences = [np.abs(image - e).mean() for e in expected]
        assert np.argmin(differences) == row, differences
    result = run_script("multi_style_figures.py", "--ckpt", str(model_file), "--photos", str(photo),
                        "--styles", "nowhere.jpg", "--gallery", "g.png", cwd=tmp_path)
    assert_one_line_error(result, "nowhere.jpg", "neither a painting file nor a style")


def test_the_comparison_sets_zero_shot_beside_the_adapted_and_one_style_models(model_file, paintings, tmp_path):
    photo = tmp_path / "photo.png"
    random_image((48, 40), seed=5).save(photo)
    shutil.copy(paintings / "painting0.png", tmp_path / "dark.png")
    adapted = save_toy_model(TransformerNet(norm="instance", **OPTIONS), tmp_path / "adapted.safetensors", name="dark")
    result = run_script("multi_style_figures.py", "--ckpt", str(model_file), "--photos", str(photo), "--size", "32",
                        "--styles", str(tmp_path / "dark.png"), "dots", "--adapted", f"dark={adapted}",
                        "--compare", "compare.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    grid = np.asarray(Image.open(tmp_path / "compare.png").convert("RGB"), dtype=np.float32) / 255
    cell, header = 32 + 4, 16
    assert grid.shape[0] == header + 2 * cell + 4  # a row per painting
    assert grid.shape[1] > 5 * cell  # row names, the painting, then photo, zero-shot, adapted, one-style

    def tile(row: int, column: int) -> np.ndarray:  # counted from the right: the last column is 1
        y = grid.shape[0] - (2 - row) * cell
        return grid[y:y + 32, grid.shape[1] - column * cell:grid.shape[1] - column * cell + 32]

    net = load_style_model(adapted)[0]
    with torch.no_grad():
        expected = net(eval_transform(32)(Image.open(photo))[None])[0].clamp(0, 1).permute(1, 2, 0).numpy()
    assert np.abs(tile(0, 2) - expected).mean() < 0.01  # the adapted model's painting of the photo
    assert tile(0, 1).min() == 1 and tile(1, 2).min() == 1  # no one-style model of dark, no adapted model of dots
    result = run_script("multi_style_figures.py", "--ckpt", str(model_file), "--photos", str(photo), "--styles", "dots",
                        "--adapted", "dots", "--compare", "c.png", cwd=tmp_path)
    assert_one_line_error(result, "--adapted takes STYLE=MODEL", "'dots'")


def test_evaluate_scores_each_painting_it_knows_by_name(model_file, paintings, tiny_data, tmp_path):
    from fst.evaluation.measure import evaluate

    for index, name in enumerate(["dots", "waves"]):
        shutil.copy(paintings / f"painting{index}.png", tmp_path / f"{name}.png")
    report = evaluate(compose_config("evaluate", [
        f"paths.data_dir={tiny_data}", f"hydra.run.dir={tmp_path}/eval", f"output={tmp_path}/eval", f"ckpts={model_file}",
        f"style_dir={tmp_path}", "vgg_weights.vgg16=random", "size=32", "device=cpu", "progress=false", "save_images=true"]))
    rows = [line.split("|")[1].strip() for line in report.read_text().splitlines() if line.startswith("| arbitrary")]
    assert rows[:2] == ["arbitrary: dots", "arbitrary: waves"]
    dots, waves = (load_image(next((tmp_path / "eval" / "images" / f"arbitrary:_{name}").glob("*.jpg"))) for name in ("dots", "waves"))
    assert (dots - waves).abs().mean() > 0.01  # each painted as its own painting's vector


@pytest.mark.parametrize(("style", "fragments"), [
    ("no/such/painting.jpg", ["'no/such/painting.jpg' is neither a painting file nor a style", "dots, waves"]),
    (None, ["paints any painting", "style=path/to/painting.jpg"]),
])
def test_a_missing_painting_is_a_one_line_error(model_file, tmp_path, style, fragments):
    photo = tmp_path / "photo.png"
    random_image((40, 32), seed=5).save(photo)
    result = run_script("stylize.py", f"ckpt={model_file}", f"input={photo}", *([f"style={style}"] if style else []),
                        "device=cpu")
    assert_one_line_error(result, *fragments)


def test_an_unreadable_painting_is_a_one_line_error(model_file, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a picture")
    net, card = load_style_model(model_file)
    with pytest.raises(FstError, match="broken.jpg"):
        painting_style(net, card, str(broken))
    assert style_label(card, str(broken)) == "broken"  # the name checks only that the file is there


def test_start_from_a_multi_style_model_paints_its_styles():
    torch.manual_seed(0)
    base = ConditionalTransformerNet(num_styles=3, **OPTIONS).eval()
    for module in base.modules():  # styles that differ, as a trained base's do
        if hasattr(module, "scale"):
            module.scale.data.uniform_(0.5, 1.5)
            module.shift.data.uniform_(-0.5, 0.5)
    net = arbitrary_net(known=3)
    base_statistics, corpus = torch.rand(3, STATISTICS) * 5, torch.rand(20, STATISTICS) * 5
    start_from_multi_style(net, base, base_statistics, corpus, steps=500)
    photo = torch.rand(1, 3, 32, 32)
    for style in range(3):
        exact = torch.cat([F.one_hot(torch.tensor(style), 6).float(), torch.ones(1)])[None]
        with torch.no_grad():
            assert torch.allclose(net(photo, exact), base(photo, F.one_hot(torch.tensor([style]), 3).float()), atol=1e-4)
            predicted = net.style_vector(base_statistics[style : style + 1])
        assert (predicted - exact).abs().max() < 0.05  # the encoder learned each base painting's embedding
    assert net.style_encoder(corpus).abs().max() < 0.05  # and the corpus paintings start at the styles' mean


def test_training_on_a_folder_of_paintings(tiny_data, paintings, tmp_path):
    overrides = [*tiny_overrides(tiny_data, tmp_path), "model=arbitrary_style_net", "model.width=0.25",
                 "model.num_residual_blocks=1", "model.embedding_size=4", f"data.painting_dir={paintings}",
                 "data.painting_size=48", "styles=[{name: tiny, image: " + str(tiny_data / "styles" / "tiny.png") + "}]"]
    export = train(compose_config("train", overrides))
    card = read_card(export)
    assert card.arbitrary and card.style_names == ["tiny"]
    net, _ = load_style_model(export)
    assert net.known_statistics.abs().sum() > 0  # the known painting, as the encoder sees it
    header, *rows = (tmp_path / "csv" / "metrics.csv").read_text().splitlines()
    column = header.split(",").index("train/style")
    assert sum(1 for r in rows if r.split(",")[column]) == 4


def test_a_run_goes_on_from_its_committed_export_on_another_machine(tiny_data, paintings, vgg_file, tmp_path, monkeypatch):
    """The long run's progress file (checkpoints/progress/) is all a new machine has: continue_from resumes it. The
    file leaves out the encoder's VGG16, which both runs read from the loss's weights."""
    monkeypatch.setenv("FST_VGG_WEIGHTS", str(vgg_file))
    overrides = [*tiny_overrides(tiny_data, tmp_path / "a"), f"loss.vgg_weights={vgg_file}", "model=arbitrary_style_net", "model.width=0.25",
                 "model.num_residual_blocks=1", "model.embedding_size=4", f"data.painting_dir={paintings}",
                 "data.painting_size=48", "styles=[{name: tiny, image: " + str(tiny_data / "styles" / "tiny.png") + "}]",
                 "callbacks.export.dtype=float32"]
    first = train(compose_config("train", overrides))
    progress = shutil.copy(first, tmp_path / "progress.safetensors")
    before, _ = load_style_model(progress)
    later = [*overrides, f"paths.output_dir={tmp_path / 'b'}", f"hydra.run.dir={tmp_path / 'b'}", "trainer.max_steps=6",
             f"continue_from={progress}", "optimizer.lr=0"]  # no update: the weights must come through as they were
    after, card = load_style_model(train(compose_config("train", later)))
    assert card.arbitrary and card.training.steps == 6 and card.training.seconds >= read_card(first).training.seconds
    assert not any(key.startswith(ENCODER_VGG) for key in load_file(str(progress)))
    for (name, a), b in zip(file_state(before).items(), file_state(after).values(), strict=True):
        torch.testing.assert_close(a, b, msg=name)  # the encoder's normalization and known paintings included
    painting = load_image(paintings / "painting0.png")
    torch.testing.assert_close(after.encode(painting), before.encode(painting))  # and both read the same VGG16


def test_anchor_steps_distil_the_named_styles_instead_of_drawing_paintings(tiny_data, paintings, tmp_path):
    teacher = save_toy_model(TransformerNet(norm="instance", **OPTIONS), tmp_path / "tiny.safetensors", name="tiny", dtype="float32")
    held_out = save_toy_model(TransformerNet(norm="instance", **OPTIONS), tmp_path / "dots.safetensors", name="dots", dtype="float32")
    overrides = [*tiny_overrides(tiny_data, tmp_path / "run"), "model=arbitrary_style_net", "model.width=0.25",
                 "model.num_residual_blocks=1", "model.embedding_size=4", f"data.painting_dir={paintings}",
                 "data.painting_size=48", "styles=[{name: tiny, image: " + str(tiny_data / "styles" / "tiny.png") + "},"
                 "{name: dots, image: " + str(paintings / "painting0.png") + "}]", f"teachers=[{teacher},{held_out}]"]
    logged = {}
    for share in (0.0, 0.99):
        export = train(compose_config("train", [*overrides, f"hydra.run.dir={tmp_path}/{share}",
                                                f"paths.output_dir={tmp_path}/{share}", "anchor_styles=[tiny]", f"anchor_share={share}"]))
        training = read_card(export).training
        # the card keeps the recipe: only the anchor is distilled; the held-out style's teacher only scores it
        assert (training.teachers, training.distill_weight) == ((str(teacher),), 1000)
        header, *rows = (tmp_path / str(share) / "csv" / "metrics.csv").read_text().splitlines()
        column = header.split(",").index("train/distill") if "train/distill" in header else None
        logged[share] = sum(1 for r in rows if column is not None and r.split(",")[column])
    assert logged[0.0] == 0  # every step paints a corpus painting, which has no teacher
    assert logged[0.99] >= 3  # (almost) every step distils the named style from its teacher
    with pytest.raises(FstError, match="anchor_styles: nope"):
        train(compose_config("train", [*overrides, "anchor_styles=[nope]", "anchor_share=0.5"]))


def test_a_painting_folder_needs_a_network_that_paints_any_painting(tiny_data, paintings, tmp_path):
    with pytest.raises(FstError, match="experiment=arbitrary"):
        train(compose_config("train", [*tiny_overrides(tiny_data, tmp_path), f"data.painting_dir={paintings}",
                                       "data.painting_size=48"]))


def test_to_multi_style_paints_each_vector_as_the_network_does(model_file):
    net, _ = load_style_model(model_file)
    vectors = torch.cat([net.style_vector(net.known_statistics), net.style_vector(torch.rand(1, STATISTICS))])
    plain = to_multi_style(net, vectors)
    photo = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        for index in range(3):
            torch.testing.assert_close(plain(photo, F.one_hot(torch.tensor([index]), 3).float()), net(photo, vectors[index : index + 1]))


def test_adapting_from_a_prediction_trains_only_the_new_styles_scale_and_shift(model_file, tiny_data, tmp_path):
    overrides = [*tiny_overrides(tiny_data, tmp_path), "experiment=adapt", f"base={model_file}", "style.name=tiny",
                 "data.image_size=32", "trainer.max_steps=2", "trainer.val_check_interval=2", "callbacks.export.dtype=float32"]
    adapted, card = load_style_model(train(compose_config("train", overrides)))
    assert card.architecture == "conditional_transformer_net" and card.style_names == ["dots", "waves", "tiny"]
    assert card.training.base == "arbitrary (7 steps)"
    base, _ = load_style_model(model_file)
    painting = load_image(tiny_data / "styles" / "tiny.png", long_side=ENCODER_SIZE)
    start = to_multi_style(base, torch.cat([base.style_vector(base.known_statistics), base.encode(painting)[None]]))
    before, after = start.state_dict(), adapted.state_dict()
    for key, value in before.items():
        if key.endswith((".scale", ".shift")):
            assert torch.equal(after[key][:2], value[:2]), key  # the known styles, as the encoder predicts them
            assert not torch.equal(after[key][2], value[2]), key  # the new style moved from its prediction
        else:
            assert torch.equal(after[key], value), key  # the convolutions, bit-identical
    with pytest.raises(FstError, match="already paints dots"):
        train(compose_config("train", [*overrides, "style.name=dots"]))


def test_training_from_a_multi_style_model_trains_its_convolutions_slower(tiny_data, paintings, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    for index, name in enumerate(["candy", "udnie"]):  # the base's styles, by the names conf/style knows
        random_image((64, 48), seed=300 + index).save(data / "styles" / f"{name}.jpg")
    torch.manual_seed(0)
    base = ConditionalTransformerNet(num_styles=2, **OPTIONS).eval()
    card = toy_card(base, "pair").replace(styles=(StyleSpec("candy"), StyleSpec("udnie")))
    base_file = save_style_model(base, tmp_path / "pair.safetensors", card, dtype="float32")
    overrides = [*tiny_overrides(data, tmp_path / "run"), "model=arbitrary_style_net", "model.width=0.25",
                 "model.num_residual_blocks=1", "model.embedding_size=4", f"data.painting_dir={paintings}",
                 "data.painting_size=48", f"start_from={base_file}", "trainer.max_steps=2",
                 "styles=[{name: tiny, image: " + str(data / "styles" / "tiny.png") + "}]"]
    train(compose_config("train", overrides))
    checkpoint = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    groups = checkpoint["optimizer_states"][0]["param_groups"]
    net = ArbitraryStyleNet(embedding_size=4, known_styles=1, **OPTIONS)
    fresh = sum(1 for name, p in net.named_parameters() if p.requires_grad and (name.endswith((".scale", ".shift")) or name.startswith("style_encoder.")))
    shared = sum(1 for p in net.parameters() if p.requires_grad) - fresh
    assert [(g["lr"], len(g["params"])) for g in groups] == [(1e-3, fresh), (1e-4, shared)]


def test_each_paintings_style_weight_falls_as_its_gram_energy_rises():
    from conftest import make_loss

    torch.manual_seed(0)
    loss = make_loss()
    targets, _ = loss.style_targets(torch.rand(1, 3, 48, 48))
    energy = sum(w * targets[n][0].pow(2).mean() for n, w in loss.style_layers.items())
    scales = torch.tensor([1.0, 2.0, 1000.0, 1e-3]) * (REFERENCE_GRAM_ENERGY / energy).sqrt()  # Gram x scale: energy x scale^2
    grams = {name: gram * scales[:, None, None] for name, gram in targets.items()}
    factors = painting_weights(grams, loss.style_layers)
    torch.testing.assert_close(factors[:2], torch.tensor([1.0, 0.5]))  # the reference painting's is 1; 4x the energy: half
    assert factors[2] == 0.25 and factors[3] == 4.0  # bounded both ways
    output, photo = torch.rand(1, 3, 48, 48).expand(4, -1, -1, -1), torch.rand(4, 3, 48, 48)
    per_item = loss.terms(output, loss.content_target(photo), per_item=True, style_grams=grams)["style_per_item"]
    with torch.no_grad():
        features = loss.vgg(output[:1], list(loss.style_layers))
    errors = torch.stack([sum(w * (gram_matrix(features[n])[0] - grams[n][i]).pow(2).mean() for n, w in loss.style_layers.items())
                          for i in range(4)])
    torch.testing.assert_close(per_item, loss.style_weight * factors * errors, rtol=1e-4, atol=0)


def test_a_paintings_style_tiles_seamlessly_and_takes_strength_and_colour(model_file, paintings):
    """The painting's vector is a style like a multi-style model's weights: every Stylizer option applies to it."""
    net, card = load_style_model(model_file)
    vector, _ = painting_style(net, card, str(paintings / "painting1.png"))
    image = torch.from_numpy(np.array(random_image((300, 220), seed=4))).permute(2, 0, 1).float().div(255)[None]
    full = make_stylizer(net, precision="fp32", tile_size=4096, style=vector)(image)
    tiled = make_stylizer(net, precision="fp32", tile_size=128, tile_overlap=64, stats_size=4096, style=vector)(image)
    difference = (tiled - full).abs()[..., 8:-8, 8:-8]
    assert difference.max() < 0.02 and difference.mean() < 1e-3
    torch.testing.assert_close(make_stylizer(net, precision="fp32", strength=0.5, style=vector)(image), (image + full) / 2)
    kept = make_stylizer(net, precision="fp32", preserve_color=True, style=vector)(image)
    torch.testing.assert_close(kept, keep_colors(full, image))


@pytest.mark.parametrize("fmt", ["safetensors", "onnx"])
def test_export_writes_a_painting_as_a_one_style_model(model_file, paintings, tmp_path, fmt):
    net, card = load_style_model(model_file)
    painting = paintings / "painting2.png"
    vector, _ = painting_style(net, card, str(painting))
    path = export(ExportOptions(ckpt=str(model_file), format=fmt, style=str(painting), output=str(tmp_path / f"p.{fmt}")))
    x = torch.rand(1, 3, 32, 40)
    with torch.no_grad():
        expected = net(x, vector[None])
    if fmt == "safetensors":
        single, exported = load_style_model(path)
        assert exported.architecture == "transformer_net" and exported.name == "painting2"
        with torch.no_grad():
            torch.testing.assert_close(single(x), expected, atol=1e-5, rtol=1e-5)
    else:
        torch.testing.assert_close(torch.from_numpy(run_onnx_alone(path, {"image": x.numpy()}, tmp_path)), expected,
                                   atol=1e-4, rtol=1e-4)


def test_a_video_takes_a_painting_file(model_file, paintings, tmp_path):
    frames = [np.asarray(random_image((48, 32), seed=10 + i)) for i in range(4)]
    clip = tmp_path / "clip.gif"
    Image.fromarray(frames[0]).save(clip, save_all=True, append_images=[Image.fromarray(f) for f in frames[1:]], duration=80)
    overrides = [f"ckpt={model_file}", f"input={clip}", f"output={tmp_path / 'out.gif'}", "device=cpu",
                 f"style={paintings / 'painting0.png'}", "temporal=flow"]
    (written,) = stylize_config(compose_config("stylize", overrides))
    with Image.open(written) as gif:
        assert gif.n_frames == 4 and gif.size == (48, 32)
