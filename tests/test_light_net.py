"""The light networks for real time on a CPU: size, work per frame, training by distillation, export, tiling, mixing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from torch.utils.flop_counter import FlopCounterMode

from conftest import (
    REPO,
    check_multi_style_onnx,
    compose_config,
    make_net,
    make_stylizer,
    random_image,
    tiny_overrides,
    toy_card,
)
from fst.config import build
from fst.errors import FstError
from fst.export.formats import export_onnx
from fst.export.quantize import quantize_onnx
from fst.inference import onnx_runtime
from fst.models import load_style_model, read_card, save_style_model
from fst.models.card import StyleSpec
from fst.models.conditional_net import add_styles, to_single_style
from fst.models.light_net import ConditionalLightNet, LightNet
from fst.models.zoo import shipped_models
from fst.training.run import load_teachers, train

NAMES = ["starry", "wave", "scream"]


def light_net(conditional: bool = False, seed: int = 0, **options) -> torch.nn.Module:
    """A light network from its yaml (conf/model/light_net.yaml, or the conditional one for 3 styles), with
    random scales and shifts so that its styles differ."""
    torch.manual_seed(seed)
    group = "conditional_light_net" if conditional else "light_net"
    model = compose_config("train", ["paths.output_dir=/o", f"model={group}"]).model
    if conditional:
        model.num_styles = len(NAMES)
    net = build(OmegaConf.merge(model, options))
    with torch.no_grad():
        for name, parameter in net.named_parameters():
            if name.endswith((".scale", "norm1.weight", "norm2.weight", "stem_norm.weight")):
                parameter.copy_(1 + 0.5 * torch.randn_like(parameter))
            elif name.endswith((".shift", "norm1.bias", "norm2.bias", "stem_norm.bias")):
                parameter.copy_(0.5 * torch.randn_like(parameter))
    return net.eval()


def one_hot(index: int, count: int = 3) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.tensor(index), count).float()


def multiply_adds(net: torch.nn.Module, *inputs: torch.Tensor) -> int:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(*inputs)
    return counter.get_total_flops() // 2


@pytest.mark.parametrize("height,width", [(360, 640), (33, 47), (17, 64), (5, 7), (61, 1)])
def test_light_networks_keep_any_size(height, width):
    x = torch.rand(2, 3, height, width)
    with torch.no_grad():
        assert light_net()(x).shape == x.shape
        assert light_net(conditional=True)(x, one_hot(1).expand(2, -1)).shape == x.shape


def test_a_light_network_does_a_tenth_of_the_work_of_transformer_net():
    frame = torch.rand(1, 3, 360, 640)
    full, light = multiply_adds(make_net().eval(), frame), multiply_adds(light_net(), frame)
    assert 34e9 < full < 36e9  # TransformerNet: about 35 GMAC per 640x360 frame
    assert light < full / 8
    assert sum(p.numel() for p in light_net().parameters()) < 1.1e6


def test_one_style_of_a_conditional_light_network_is_a_light_network_painting_it():
    net = light_net(conditional=True)
    x = torch.rand(2, 3, 36, 44)
    with torch.no_grad():
        for weights in [one_hot(0), one_hot(2), torch.tensor([0.3, 0.0, 0.7])]:
            plain = to_single_style(net, weights)
            assert isinstance(plain, LightNet)
            torch.testing.assert_close(plain(x), net(x, weights.expand(2, -1)), atol=1e-5, rtol=1e-5)
        assert (net(x, one_hot(0)[None].expand(2, -1)) - net(x, one_hot(1)[None].expand(2, -1))).abs().mean() > 0.01
    grown = add_styles(net, 1)
    assert isinstance(grown, ConditionalLightNet) and grown.num_styles == 4


def test_tiled_equals_untiled_and_mixes_paint_between_their_styles():
    net = light_net(conditional=True)
    image = torch.from_numpy(np.array(random_image((600, 440), seed=4))).permute(2, 0, 1).float().div(255)[None]
    mix = torch.tensor([0.5, 0.0, 0.5])
    full = make_stylizer(net, precision="fp32", tile_size=4096, style=mix)(image)
    # The trunk at 1/8 of the resolution sees about 130 pixels around each pixel: the default overlap (128) covers it.
    tiled = make_stylizer(net, precision="fp32", tile_size=256, tile_overlap=128, stats_size=4096, style=mix)(image)
    difference = (tiled - full).abs()[..., 8:-8, 8:-8]
    assert difference.max() < 0.02 and difference.mean() < 1e-4
    first, third = (make_stylizer(net, precision="fp32", style=one_hot(i))(image) for i in (0, 2))
    assert (full - first).abs().mean() > 0.01 and (full - third).abs().mean() > 0.01


def test_a_light_network_distils_a_teacher_and_records_how_it_compares(tiny_data, tmp_path):
    teacher_net = make_net(width=0.25, num_residual_blocks=1).eval()
    teacher = save_style_model(teacher_net, tmp_path / "tiny.safetensors", toy_card(teacher_net, "tiny"), dtype="float32")
    overrides = [*tiny_overrides(tiny_data, tmp_path / "run"), "model=light_net", f"teachers=[{teacher}]",
                 "callbacks.export.dtype=float32"]
    net, card = load_style_model(train(compose_config("train", overrides)))
    assert isinstance(net, LightNet) and card.architecture == "light_net" and card.network == net.config
    with open(tmp_path / "run" / "csv" / "metrics.csv") as f:
        header = f.readline().strip().split(",")
    assert {"train/distill", "val/style_vs_teacher", "val/content_vs_teacher"} <= set(header)


def test_a_conditional_light_network_trains_several_styles_from_their_teachers(tiny_data, tmp_path):
    second = tmp_path / "second.png"
    random_image((64, 48), seed=7).save(second)
    teachers = []
    for name in ("a", "b"):
        teacher_net = make_net(width=0.25, num_residual_blocks=1).eval()
        teachers.append(save_style_model(teacher_net, tmp_path / f"{name}.safetensors", toy_card(teacher_net, name), dtype="float32"))
    styles = f"styles=[{{name: a, image: {tiny_data}/styles/tiny.png}},{{name: b, image: {second}}}]"
    overrides = [*tiny_overrides(tiny_data, tmp_path / "run"), "model=conditional_light_net", styles, "model_name=duo",
                 f"teachers=[{teachers[0]},{teachers[1]}]", "callbacks.export.dtype=float32"]
    export = train(compose_config("train", overrides))
    net, card = load_style_model(export)
    assert card.architecture == "conditional_light_net" and net.num_styles == 2 and card.style_names == ["a", "b"]
    with open(tmp_path / "run" / "csv" / "metrics.csv") as f:
        header = f.readline().strip().split(",")
    assert {"val/style_vs_teacher/a", "val/style_vs_teacher/b", "val/content_vs_teacher/a"} <= set(header)
    assert read_card(export).network["channels"] == [32, 128]


def test_a_multi_style_model_teaches_each_of_its_styles_as_its_one_style_network(tmp_path):
    net = light_net(conditional=True)
    card = toy_card(net, "trio").replace(styles=tuple(toy_card(net, n).styles[0] for n in NAMES))
    trio = save_style_model(net, tmp_path / "trio.safetensors", card, dtype="float32")
    image = torch.rand(1, 3, 40, 56)
    wanted = [StyleSpec("scream"), StyleSpec("starry")]  # a run of some of its styles, in another order
    teachers = load_teachers([str(trio)], wanted)
    assert [type(t) for t in teachers] == [LightNet, LightNet]
    for teacher, index in zip(teachers, (2, 0)):
        with torch.no_grad():
            torch.testing.assert_close(teacher(image), net(image, one_hot(index)[None]), atol=1e-5, rtol=1e-4)
    with pytest.raises(FstError, match=r"teachers\[0\] .* paints starry\+wave\+scream, not the style udnie"):
        load_teachers([str(trio)], [StyleSpec("udnie"), StyleSpec("starry")])
    plain = net.one_style_network()
    one = save_style_model(plain, tmp_path / "one.safetensors", toy_card(plain, "one"), dtype="float32")
    with pytest.raises(FstError, match="teachers: 1 models for 2 styles"):  # a one-style model teaches one style
        load_teachers([str(one)], [StyleSpec("one"), StyleSpec("starry")])


def test_light_networks_export_to_onnx_and_int8(tmp_path):
    net = light_net(conditional=True)
    card = toy_card(net, "trio").replace(styles=tuple(toy_card(net, n).styles[0] for n in NAMES))
    export_onnx(net, tmp_path / "trio.onnx", card, torch.float32, 18)
    x, styles, expected = check_multi_style_onnx(net, tmp_path / "trio.onnx", tmp_path)
    torch.testing.assert_close(torch.jit.script(net)(x, styles), expected, atol=1e-5, rtol=1e-5)

    photos = tmp_path / "photos"
    photos.mkdir()
    for seed in range(4):
        random_image((80, 72), seed=seed).save(photos / f"{seed}.png")
    record = quantize_onnx(tmp_path / "trio.onnx", tmp_path / "trio.int8.onnx", card, photos, 64)
    assert list(record.kept_float) == ["stem.1.1", "up.1.1", "head.3.1"]  # the first, upsampling and last ones
    images = torch.rand(2, 3, 64, 64)
    weights = one_hot(2).expand(2, -1)
    output = onnx_runtime.OnnxNetwork(tmp_path / "trio.int8.onnx")(images, weights)
    with torch.no_grad():
        reference = net(images, weights)
    assert (output - reference).abs().mean() < 0.1 * reference.abs().mean()


def test_int8_stylizing_a_multi_style_model_calibrates_each_style(tmp_path, monkeypatch):
    """The cached INT8 model of precision=int8 is made without a card: its calibration finds the style input itself."""
    monkeypatch.setenv("FST_CACHE_DIR", str(tmp_path / "cache"))
    photos = tmp_path / "photos"
    photos.mkdir()
    for seed in range(3):
        random_image((80, 72), seed=seed).save(photos / f"{seed}.png")
    net = light_net(conditional=True)
    image = torch.rand(1, 3, 64, 64)
    int8 = make_stylizer(net, precision="int8", calibration=str(photos), calibration_size=64, style=one_hot(1))(image)
    fp32 = make_stylizer(net, precision="fp32", style=one_hot(1))(image)
    assert (int8 - fp32).abs().mean() < 0.1 * fp32.abs().mean()


def test_a_light_model_file_round_trips_and_stylizes_odd_sizes(tmp_path):
    net = light_net()
    path = save_style_model(net, tmp_path / "light.safetensors", toy_card(net, "light"), dtype="float16")
    loaded, card = load_style_model(path)
    assert card.architecture == "light_net" and isinstance(loaded, LightNet)
    image = torch.rand(1, 3, 51, 77)
    out = make_stylizer(loaded, precision="fp32")(image)
    assert out.shape == image.shape and 0 <= out.min() and out.max() <= 1


def test_the_models_table_lists_each_models_work_per_video_frame(tmp_path, monkeypatch):
    import fst.models.zoo as zoo

    light, full = light_net(conditional=True), make_net().eval()
    save_style_model(light, tmp_path / "fast.safetensors", toy_card(light, "fast").replace(
        styles=tuple(toy_card(light, n).styles[0] for n in NAMES)), dtype="float16")
    save_style_model(full, tmp_path / "full.safetensors", toy_card(full, "full"), dtype="float16")
    monkeypatch.setattr(zoo, "CHECKPOINTS_DIR", tmp_path)
    rows = [line.split(" | ") for line in zoo.shipped_models_table().splitlines()]
    assert rows[0][-1] == "GMAC / 640x360 frame |"
    work = {row[0].removeprefix("| "): float(row[-1].removesuffix(" |")) for row in rows[2:]}
    assert work["full"] == pytest.approx(35.4, abs=0.1) and work["fast"] < 5


SHIPPED_LIGHT = REPO / "checkpoints" / "multi_style_fast.safetensors"


@pytest.mark.skipif(not SHIPPED_LIGHT.is_file(), reason="checkpoints/multi_style_fast.safetensors is not trained yet")
def test_the_shipped_light_model_loads_by_name_and_paints_and_mixes_every_shipped_style():
    import fst

    one_style = sorted(name for name, path in shipped_models().items()
                       if "/" not in name and read_card(path).architecture == "transformer_net")
    model = fst.load("multi_style_fast")
    card = model.card
    assert card.architecture == "conditional_light_net" and sorted(card.style_names) == one_style
    assert all(card.evaluation[name].style > 0 for name in one_style)  # its figures, beside the full models'
    assert SHIPPED_LIGHT.stat().st_size < 4 * 2**20  # fp16
    photo = random_image((77, 51), seed=5)
    painted = {name: np.asarray(model.stylize(photo, style=name), dtype=float) for name in ("candy", "udnie")}
    assert painted["candy"].shape == (51, 77, 3) and np.abs(painted["candy"] - painted["udnie"]).mean() > 5
    mixed = np.asarray(model.stylize(photo, style="candy:0.5,udnie:0.5"), dtype=float)
    assert np.abs(mixed - painted["candy"]).mean() > 1 and np.abs(mixed - painted["udnie"]).mean() > 1
