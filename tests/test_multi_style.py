"""Many styles in one network: conditional instance norm, mixing, training, adaptation, tiling and export."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from conftest import (
    assert_one_line_error,
    check_multi_style_onnx,
    compose_config,
    make_stylizer,
    random_image,
    run_script,
    tiny_overrides,
    toy_card,
)
from fst.commands.stylize import stylize_config
from fst.data.datamodule import eval_transform
from fst.errors import FstError
from fst.models import Evaluation, load_style_model, read_card, save_style_model
from fst.models.conditional_net import ConditionalTransformerNet, add_styles, to_single_style
from fst.models.mixing import style_weights
from fst.training.run import check_overrides_apply, train
from fst.training.styles import known_style_settings, styles_entry

NAMES = ["starry", "wave", "scream"]


def conditional_net(num_styles: int = 3, seed: int = 0) -> ConditionalTransformerNet:
    """A small conditional network whose styles differ: random scales and shifts, not the initial ones."""
    torch.manual_seed(seed)
    net = ConditionalTransformerNet(num_styles=num_styles, width=0.25, num_residual_blocks=1, upsampling="nearest",
                                    output_activation="none")
    with torch.no_grad():
        for name, parameter in net.named_parameters():
            if name.endswith(".scale"):
                parameter.copy_(1 + 0.5 * torch.randn_like(parameter))
            elif name.endswith(".shift"):
                parameter.copy_(0.5 * torch.randn_like(parameter))
    return net.eval()


def one_hot(index: int, count: int = 3) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.tensor(index), count).float()


@pytest.fixture(scope="module")
def multi_model(tmp_path_factory):
    net = conditional_net()
    card = toy_card(net, name="trio").replace(styles=tuple(toy_card(net, n).styles[0] for n in NAMES))
    return save_style_model(net, tmp_path_factory.mktemp("multi") / "trio.safetensors", card, dtype="float32")


def test_a_one_hot_style_equals_a_plain_network_with_that_styles_scale_and_shift():
    net = conditional_net()
    x = torch.rand(2, 3, 36, 44)
    with torch.no_grad():
        for index in range(3):
            plain = to_single_style(net, one_hot(index))
            assert isinstance(plain, torch.nn.Module) and plain.architecture == "transformer_net"
            torch.testing.assert_close(plain(x), net(x, one_hot(index).expand(2, -1)), atol=1e-5, rtol=1e-5)
        mix = torch.tensor([0.2, 0.0, 0.8])  # a mix is a mix of scales and shifts, so it extracts too
        torch.testing.assert_close(to_single_style(net, mix)(x), net(x, mix.expand(2, -1)), atol=1e-5, rtol=1e-5)
        assert (net(x, one_hot(0).expand(2, -1)) - net(x, one_hot(1).expand(2, -1))).abs().mean() > 0.01


def test_each_item_of_a_batch_gets_its_own_style():
    net = conditional_net()
    x = torch.rand(3, 3, 32, 32)
    styles = torch.stack([one_hot(2), one_hot(0), torch.tensor([0.5, 0.5, 0.0])])
    with torch.no_grad():
        together = net(x, styles)
        for item in range(3):
            torch.testing.assert_close(together[item : item + 1], net(x[item : item + 1], styles[item : item + 1]), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "spec,expected",
    [
        ("wave", [0, 1, 0]),
        ("starry:0.3,scream:0.7", [0.3, 0, 0.7]),
        ("starry:1,wave:1", [0.5, 0.5, 0]),  # normalised to sum to 1
        ({"scream": 2, "wave": 6}, [0, 0.75, 0.25]),
        ("scream,wave", [0, 0.5, 0.5]),  # a name without a weight counts 1
    ],
)
def test_style_weights_are_normalised(spec, expected):
    torch.testing.assert_close(style_weights(spec, NAMES), torch.tensor(expected, dtype=torch.float32))


@pytest.mark.parametrize(
    "spec,message",
    [
        ("monet", "this model has no style 'monet'; its styles: starry, wave, scream"),
        ("starry:-1,wave:2", "weights must be >= 0"),
        ("starry:0,wave:0", "the weights are all zero"),
        ("starry:lots", "the weight of 'starry' is not a number"),
        ("starry:inf,wave:1", "weights must be >= 0 and finite"),  # would normalise to NaN: a black picture
        (None, "this model paints 3 styles (starry, wave, scream); pick one with style=<name>"),
    ],
)
def test_bad_style_weights_are_one_line_errors(spec, message):
    with pytest.raises(FstError, match=message.replace("(", r"\(").replace(")", r"\)")):
        style_weights(spec, NAMES)


def test_tiled_equals_untiled_with_conditional_norms():
    """The shared statistics of seamless tiling feed conditional norms as they feed plain ones."""
    net = conditional_net()
    image = torch.from_numpy(np.array(random_image((300, 220), seed=4))).permute(2, 0, 1).float().div(255)[None]
    mix = torch.tensor([0.3, 0.0, 0.7])
    full = make_stylizer(net, precision="fp32", tile_size=4096, style=mix)(image)
    tiled = make_stylizer(net, precision="fp32", tile_size=128, tile_overlap=64, stats_size=4096, style=mix)(image)
    difference = (tiled - full).abs()[..., 8:-8, 8:-8]
    assert difference.max() < 0.02 and difference.mean() < 1e-3  # as for the one-style network


def stylize_with(model, photo, output, **options):
    overrides = [f"ckpt={model}", f"input={photo}", f"output={output}", "device=cpu", "precision=fp32",
                 *(f"{k}={v}" for k, v in options.items())]
    return stylize_config(compose_config("stylize", overrides))


def test_stylize_paints_a_style_or_a_mix_of_a_multi_style_model(multi_model, tmp_path):
    random_image((48, 36), seed=1).save(tmp_path / "photo.png")
    outputs = {}
    for spec in ["starry", "scream", "'starry:0.5,scream:0.5'"]:
        (written,) = stylize_with(multi_model, tmp_path / "photo.png", tmp_path / f"{len(outputs)}.png", style=spec)
        outputs[spec] = torch.from_numpy(np.array(Image.open(written))).float()
    assert outputs["starry"].shape == (36, 48, 3)
    assert (outputs["starry"] - outputs["scream"]).abs().mean() > 2  # of 255
    assert (outputs["'starry:0.5,scream:0.5'"] - outputs["starry"]).abs().mean() > 1
    with pytest.raises(FstError, match="its styles: starry, wave, scream"):
        stylize_with(multi_model, tmp_path / "photo.png", tmp_path / "x.png", style="monet")
    with pytest.raises(FstError, match="pick one with style=<name>"):
        stylize_with(multi_model, tmp_path / "photo.png", tmp_path / "y.png")


def test_a_folder_stylized_with_a_mix_written_as_a_mapping_records_the_mix(multi_model, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for seed in range(2):
        random_image((40, 32), seed=seed).save(photos / f"{seed}.png")
    written = stylize_with(multi_model, photos, tmp_path / "out", style="{starry: 0.3, scream: 0.7}")
    assert sorted(p.name for p in written) == ["0.png", "1.png"]
    record = json.loads((tmp_path / "out" / ".fst-stylize.json").read_text())
    assert record["style"] == {"starry": 0.3, "scream": 0.7}


@pytest.mark.slow
def test_stylize_script_takes_an_unquoted_mix_and_names_bad_ones(multi_model, tmp_path):
    random_image((40, 32), seed=2).save(tmp_path / "photo.png")
    result = run_script("stylize.py", f"ckpt={multi_model}", f"input={tmp_path / 'photo.png'}", "style=starry:0.3,wave:0.7",
                        "device=cpu", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "stylized" / "starry30+wave70" / "photo.png").is_file()
    bad = run_script("stylize.py", f"ckpt={multi_model}", f"input={tmp_path / 'photo.png'}", "style=starry:-1,wave:1", cwd=tmp_path)
    assert_one_line_error(bad, "weights must be >= 0 and finite")


def test_training_several_styles_writes_a_card_with_them_in_order(tiny_data, tmp_path):
    second = tmp_path / "second.png"
    random_image((64, 48), seed=7).save(second)
    styles = f"styles=[{{name: a, image: {tiny_data}/styles/tiny.png}},{{name: b, image: {second}, style_weight: 1000}}]"
    overrides = [*tiny_overrides(tiny_data, tmp_path / "run"), "model=conditional_transformer_net", styles, "model_name=duo"]
    export = train(compose_config("train", overrides))
    assert export.name == "duo.safetensors"
    net, card = load_style_model(export)
    assert card.name == "duo" and card.architecture == "conditional_transformer_net" and net.num_styles == 2
    assert card.style_names == ["a", "b"] and card.styles[1].style_weight == 1000 and card.styles[0].style_weight is None
    with open(tmp_path / "run" / "csv" / "metrics.csv") as f:
        header = f.readline().strip().split(",")
    assert {"train/style/a", "train/style/b", "val/style/a", "val/style/b", "val/content/a"} <= set(header)
    grid = Image.open(tmp_path / "run" / "samples" / "step_0000004.jpg")
    assert grid.height > 2.5 * (32 + 2)  # the photos, then a row per style


def test_styles_need_a_conditional_model_and_distinct_names(tiny_data, tmp_path):
    styles = f"styles=[{{name: a, image: {tiny_data}/styles/tiny.png}},{{name: b, image: {tiny_data}/styles/tiny.png}}]"
    with pytest.raises(FstError, match=r"styles=\[...\] trains its styles in one conditional network: add experiment=multi_style"):
        train(compose_config("train", [*tiny_overrides(tiny_data, tmp_path), styles]))
    one = f"styles=[{{name: a, image: {tiny_data}/styles/tiny.png}}]"  # one style too: the name would not be the model's
    with pytest.raises(FstError, match="add experiment=multi_style"):
        train(compose_config("train", [*tiny_overrides(tiny_data, tmp_path), one]))
    twice = f"styles=[{{name: a, image: {tiny_data}/styles/tiny.png}},{{name: a, image: {tiny_data}/styles/tiny.png}}]"
    with pytest.raises(FstError, match="styles names a style twice"):
        train(compose_config("train", [*tiny_overrides(tiny_data, tmp_path), "model=conditional_transformer_net", twice]))
    with pytest.raises(FstError, match="styles: unknown style 'monet'"):
        train(compose_config("train", [*tiny_overrides(tiny_data, tmp_path), "model=conditional_transformer_net", "styles=[candy,monet]"]))


def test_a_styles_entry_can_change_a_known_styles_settings_and_typos_are_refused(tiny_data, tmp_path):
    cfg = compose_config("train", [*tiny_overrides(tiny_data, tmp_path), "experiment=multi_style"])
    candy = styles_entry(0, OmegaConf.create({"name": "candy", "style_weight": 5.0e4}), cfg)
    assert candy == known_style_settings("candy", cfg) | {"style_weight": 5.0e4} and candy["image"].endswith("styles/candy.jpg")
    with pytest.raises(FstError, match="styles\\[1\\]: unknown key 'weight'; an entry takes name, image, size, style_weight"):
        styles_entry(1, OmegaConf.create({"name": "candy", "weight": 5.0e4}), cfg)
    with pytest.raises(FstError, match="styles\\[2\\]: 'mine' is not a known style; give its painting"):
        styles_entry(2, OmegaConf.create({"name": "mine"}), cfg)


def test_overrides_a_run_would_ignore_are_refused(multi_model, tiny_data, tmp_path):
    adapt = compose_config("train", [*tiny_overrides(tiny_data, tmp_path), "experiment=adapt", f"base={multi_model}"])
    check_overrides_apply(adapt, ["style.name=mine", "loss.style_weight=1e4", "loss.vgg_weights=random"])  # these apply
    for ignored in ["loss.tv_weight=1", "model.width=0.5", "loss=gatys"]:
        with pytest.raises(FstError, match=f"{ignored.split('=')[0]}: base=.* brings its own network and loss"):
            check_overrides_apply(adapt, [ignored])
    named = compose_config("train", [*tiny_overrides(tiny_data, tmp_path), "experiment=multi_style", "styles=[candy,udnie]"])
    for ignored in ["loss.style_weight=1e4", "style=mosaic", "style.size=512"]:
        with pytest.raises(FstError, match=f"{ignored.split('=')[0]} would be ignored: each of styles=.*conf/style/<name>.yaml"):
            check_overrides_apply(named, [ignored])
    # A painting without a yaml takes the defaults: there they apply.
    mixed = compose_config("train", [*tiny_overrides(tiny_data, tmp_path), "experiment=multi_style", "styles=[candy,{name: x, image: x.jpg}]"])
    check_overrides_apply(mixed, ["loss.style_weight=1e4", "style.size=512"])


def test_continuing_from_a_multi_style_model_names_its_styles(multi_model, tiny_data, tmp_path):
    with pytest.raises(FstError, match=r"a model of style 'starry\+wave\+scream', not 'tiny'; pass styles=\[starry,wave,scream\] \(in this order\)"):
        train(compose_config("train", [*tiny_overrides(tiny_data, tmp_path), f"continue_from={multi_model}"]))


def test_adaptation_trains_only_the_new_styles_scale_and_shift(multi_model, tiny_data, tmp_path):
    overrides = [
        *tiny_overrides(tiny_data, tmp_path), "experiment=adapt", f"base={multi_model}", "style.name=tiny",
        "data.image_size=32", "trainer.max_steps=3", "trainer.val_check_interval=3", "callbacks.export.dtype=float32",
    ]
    adapted_path = train(compose_config("train", overrides))
    base, base_card = load_style_model(multi_model)
    adapted, card = load_style_model(adapted_path)
    assert card.style_names == [*NAMES, "tiny"] and card.training.base == "trio (7 steps)" and card.training.steps == 3
    assert card.loss == base_card.loss and card.styles[:3] == base_card.styles
    before, after = base.state_dict(), adapted.state_dict()
    for key, value in before.items():
        if key.endswith((".scale", ".shift")):
            assert torch.equal(after[key][:3], value), key  # the base's styles, bit-identical
            assert not torch.equal(after[key][3], value.mean(dim=0)), key  # the new style moved from its start
        else:
            assert torch.equal(after[key], value), key  # the shared convolutions, bit-identical
    with pytest.raises(FstError, match="already paints starry"):
        train(compose_config("train", [*overrides, "style.name=starry"]))
    # A second painting learned on the adapted model: every style so far stays, and the card keeps the chain.
    again = train(compose_config("train", [*overrides, f"base={adapted_path}", "style.name=second", "trainer.max_steps=1"]))
    twice, card = load_style_model(again)
    assert card.style_names == [*NAMES, "tiny", "second"] and card.training.base == "tiny (3 steps), adapted from trio (7 steps)"
    assert torch.equal(twice.state_dict()["output.1.weight"], adapted.state_dict()["output.1.weight"])
    # Then every style trains jointly, every weight, from there: the card still tells where the model came from.
    painting = f"{tiny_data}/styles/tiny.png"
    all_styles = ",".join(f"{{name: {name}, image: {painting}}}" for name in card.style_names)
    joint = [
        *tiny_overrides(tiny_data, tmp_path / "joint"), "model=conditional_transformer_net", f"styles=[{all_styles}]",
        "model.width=0.25", "model.num_residual_blocks=1", f"continue_from={again}", "trainer.max_steps=3",
        "callbacks.export.dtype=float32",
    ]
    jointly, joint_card = load_style_model(train(compose_config("train", joint)))
    assert joint_card.training.steps == 3 and joint_card.training.base == card.training.base
    assert not torch.equal(jointly.state_dict()["output.1.weight"], twice.state_dict()["output.1.weight"])
    plain = tmp_path / "plain.safetensors"
    save_style_model(to_single_style(base, one_hot(0)), plain, toy_card(to_single_style(base, one_hot(0))), dtype="float32")
    with pytest.raises(FstError, match="is a one-style model; adaptation starts from a multi-style one"):
        train(compose_config("train", [*overrides, f"base={plain}"]))


def test_adapting_every_weight_writes_the_new_style_alone(multi_model, tiny_data, tmp_path):
    overrides = [
        *tiny_overrides(tiny_data, tmp_path), "experiment=adapt", f"base={multi_model}", "style.name=tiny", "adapt_all=true",
        "data.image_size=32", "trainer.max_steps=2", "trainer.val_check_interval=2",
        "callbacks.export.dtype=float32",
    ]
    adapted, card = load_style_model(train(compose_config("train", overrides)))
    assert card.architecture == "transformer_net" and card.style_names == ["tiny"] and card.training.base == "trio (7 steps)"
    base, _ = load_style_model(multi_model)
    assert not torch.equal(adapted.decoder[2][1].weight, base.output[1].weight)  # the shared weights trained too
    # The file paints what the trained network paints in its new (fourth) style.
    checkpoint = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    # The scales and shifts (two per norm) start at the adapt experiment's LR, the shared weights at a tenth of it.
    groups = checkpoint["optimizer_states"][0]["param_groups"]
    norms = sum(1 for name, _ in base.named_parameters() if name.endswith((".scale", ".shift")))
    assert [(g["initial_lr"], len(g["params"])) for g in groups] == [(1e-2, norms), (1e-3, len(list(base.parameters())) - norms)]
    trained = checkpoint["state_dict"]
    grown = add_styles(base, 1)
    grown.load_state_dict({k.removeprefix("net."): v for k, v in trained.items()})
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(adapted(x), grown.eval()(x, one_hot(3, 4)[None]), atol=1e-5, rtol=1e-5)


def test_add_styles_keeps_the_old_ones_and_starts_the_new_at_their_mean():
    net = conditional_net()
    grown = add_styles(net, 2)
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        for index in range(3):
            torch.testing.assert_close(grown(x, one_hot(index, 5)[None]), net(x, one_hot(index)[None]))
        torch.testing.assert_close(grown(x, one_hot(4, 5)[None]), net(x, torch.full((1, 3), 1 / 3)), atol=1e-5, rtol=1e-5)


@pytest.mark.slow
def test_onnx_and_torchscript_exports_take_the_style_weights_as_a_second_input(multi_model, tmp_path):
    net, card = load_style_model(multi_model)
    for fmt, name in [("onnx", "trio.onnx"), ("torchscript", "trio.pt")]:
        result = run_script("export.py", f"ckpt={multi_model}", f"format={fmt}", f"output={tmp_path / name}")
        assert result.returncode == 0, result.stderr[-2000:]
    x, styles, expected = check_multi_style_onnx(net, tmp_path / "trio.onnx", tmp_path)
    with torch.no_grad():
        scripted = torch.jit.load(str(tmp_path / "trio.pt"))
        torch.testing.assert_close(scripted(x, styles), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.slow
def test_one_style_or_a_mix_of_a_multi_style_model_exports_as_a_one_style_model(multi_model, tmp_path):
    net, _ = load_style_model(multi_model)
    x = torch.rand(1, 3, 32, 40)
    for spec, weights, file in [("wave", one_hot(1), "wave.safetensors"), ("starry:1,scream:3", torch.tensor([0.25, 0, 0.75]), "starry25+scream75.safetensors")]:
        result = run_script("export.py", f"ckpt={multi_model}", "format=safetensors", f"style={spec}", cwd=tmp_path)
        assert result.returncode == 0, result.stderr[-2000:]
        single, card = load_style_model(tmp_path / "exported" / file)
        assert card.architecture == "transformer_net" and len(card.styles) == 1 and card.name == file.removesuffix(".safetensors")
        with torch.no_grad():
            torch.testing.assert_close(single(x), net(x, weights[None]), atol=1e-5, rtol=1e-5)
    assert read_card(tmp_path / "exported" / "wave.safetensors").styles == read_card(multi_model).styles[1:2]
    result = run_script("export.py", f"ckpt={multi_model}", "format=safetensors", cwd=tmp_path)
    assert_one_line_error(result, "format=safetensors writes one style of a multi-style model")


def test_plot_curves_says_when_a_run_came_within_15_percent_of_its_reference(tmp_path):
    net = to_single_style(conditional_net(), one_hot(0))
    card = toy_card(net, name="starry", steps=5000)
    card = card.replace(
        training=dataclasses.replace(card.training, seconds=120 * 60),
        evaluation={"starry": Evaluation(photos=11, size=256, content=4.0, style=2.0, ssim=0.5, psnr=12.0, seconds=0.1, device="CPU")},
    )
    reference = save_style_model(net, tmp_path / "starry.safetensors", card, dtype="float32")
    run = tmp_path / "adapt"
    (run / "csv").mkdir(parents=True)
    # Lightning's CSV logger: the validation losses and the training time land in rows of their own.
    (run / "csv" / "metrics.csv").write_text(
        "step,train/total,val/content,val/style,time/train_minutes\n"
        "49,9.0,,,\n99,,5.0,3.0,\n99,,,,4.0\n199,,4.5,2.2,\n199,,,,8.0\n299,,4.4,2.6,\n299,,,,12.0\n"
    )
    result = run_script("plot_curves.py", "--curve", f"starry:adapted={run}", "--reference", f"starry={reference}",
                        "--output", str(tmp_path / "curves.png"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [[cell.strip() for cell in line.split("|")[1:-1]] for line in result.stdout.splitlines() if line.startswith("| starry")]
    assert rows[0][1:5] == ["starry (5000 steps)", "120", "4.000", "2.000"]
    # At 8 min both losses were within 15 % (4.5 <= 4.6, 2.2 <= 2.3); the last validation was not.
    assert rows[1] == ["starry", "adapted", "12.0", "4.400", "2.600", "+10.0 %", "+30.0 %", "8.0 min"]
    assert Image.open(tmp_path / "curves.png").size[0] > 500
    result = run_script("plot_curves.py", "--curve", f"starry={run}", cwd=tmp_path)
    assert_one_line_error(result, "expected STYLE:LABEL=RUN_FOLDER")


def test_the_figures_script_draws_a_row_per_style_and_a_mixing_strip(multi_model, tmp_path):
    photo = tmp_path / "photo.jpg"
    random_image((80, 64), seed=3).save(photo)
    styles = tmp_path / "styles"
    styles.mkdir()
    random_image((50, 40), seed=4).save(styles / "wave.png")
    result = run_script("multi_style_figures.py", "--ckpt", str(multi_model), "--photos", str(photo), str(photo), "--size", "32",
                        "--style-dir", str(styles), "--gallery", "gallery.jpg", "--mix", "starry", "scream", "--strip", "strip.jpg",
                        cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    gallery, strip = Image.open(tmp_path / "gallery.jpg"), Image.open(tmp_path / "strip.jpg")
    cell = 32 + 4
    assert gallery.height > 4 * cell and gallery.width > 3 * cell  # photos and 3 styles; painting and 2 photos
    assert strip.height < 2 * cell and strip.width == 6 * cell + 4  # the photo, then 5 steps
    # The strip paints 1:0, 0.75:0.25, ..., 0:1 of starry and scream.
    net, _ = load_style_model(multi_model)
    pixels = np.asarray(strip, dtype=np.float32)[-cell:, 4:].reshape(cell, 6, cell, 3)[:32, :, :32] / 255
    x = eval_transform(32)(Image.open(photo))
    candidates = [one_hot(0), torch.tensor([0.75, 0, 0.25]), torch.tensor([0.5, 0, 0.5]), torch.tensor([0.25, 0, 0.75]), one_hot(2)]
    with torch.no_grad():
        expected = [net(x[None], weights[None])[0].clamp(0, 1).permute(1, 2, 0).numpy() for weights in candidates]
    for position in range(5):
        differences = [np.abs(pixels[:, position + 1] - e).mean() for e in expected]
        assert np.argmin(differences) == position, differences  # the nearest of the five (JPEG blurs each)
    result = run_script("multi_style_figures.py", "--ckpt", str(multi_model), "--photos", str(photo), "--mix", "starry", "monet",
                        "--strip", "x.jpg", cwd=tmp_path)
    assert_one_line_error(result, "no style 'monet'", "starry, wave, scream")


@pytest.mark.slow
def test_the_video_benchmark_measures_a_multi_style_model_in_the_style_asked_for(multi_model, tiny_data, tmp_path):
    data = tmp_path / "data"
    (data / "styles").mkdir(parents=True)
    for i, name in enumerate(NAMES):
        random_image((64, 48), seed=200 + i).save(data / "styles" / f"{name}.png")
    photos = [str(tmp_path / f"p{i}.png") for i in range(3)]
    for i, photo in enumerate(photos):
        random_image((96, 72), seed=300 + i).save(photo)
    env = {"FST_DATA_DIR": str(data), "FST_VGG_WEIGHTS": "random"}
    measured = {}
    for style in ("wave", "scream"):
        result = run_script("evaluate_video.py", "--ckpt", str(multi_model), "--style", style, "--photos", *photos,
                            "--frames", "4", "--size", "64x48", "--strengths", "0.5", "--output", str(tmp_path / style),
                            "device=cpu", env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        measured[style] = json.loads((tmp_path / style / "results.json").read_text())
    assert [measured[s]["style"] for s in ("wave", "scream")] == ["wave", "scream"]
    # another style's paint, measured against another painting
    assert measured["wave"]["methods"]["per-frame"]["style"] != pytest.approx(measured["scream"]["methods"]["per-frame"]["style"], rel=1e-3)
    for args, fragment in ((), "paints several styles (starry, wave, scream); pick one"), (("--style", "candy"), "--style candy"):
        result = run_script("evaluate_video.py", "--ckpt", str(multi_model), *args, "--photos", *photos, env=env)
        assert result.returncode == 2 and fragment in result.stderr and "Traceback" not in result.stderr, result.stderr[-2000:]
