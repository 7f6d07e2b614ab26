import pytest
import torch

from conftest import make_net
from fst.errors import FstError
from fst.models.transformer_net import TransformerNet


def count_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("height,width", [(32, 32), (33, 47), (17, 64), (5, 7), (2, 3), (61, 1)])
def test_output_size_equals_input_size(height, width):
    net = make_net().eval()
    with torch.no_grad():
        y = net(torch.rand(2, 3, height, width))
    assert y.shape == (2, 3, height, width)
    assert torch.isfinite(y).all()


def test_default_has_johnson_architecture_and_parameter_count():
    net = make_net()
    # 9x9 conv 3->32, 3x3/2 ->64, ->128, 5 residual blocks, 2x (upsample + conv), 9x9 conv ->3.
    assert count_params(net) == 1_679_235  # the count of the reference TransformerNet (~1.68 M)
    assert len(net.residuals) == 5
    norms = [m for m in net.modules() if isinstance(m, torch.nn.InstanceNorm2d)]
    assert len(norms) == 3 + 5 * 2 + 2 and all(n.affine for n in norms)
    assert any(isinstance(m, torch.nn.ReflectionPad2d) for m in net.modules())
    assert any(isinstance(m, torch.nn.Upsample) for m in net.modules())


def test_width_and_blocks_change_capacity():
    small = make_net(width=0.5, num_residual_blocks=2)
    assert count_params(small) < count_params(make_net()) / 3
    assert small(torch.rand(1, 3, 20, 24)).shape == (1, 3, 20, 24)


@pytest.mark.parametrize(
    "options",
    [
        {"norm": "batch"},
        {"upsampling": "transposed"},
        {"output_activation": "sigmoid"},
        {"output_activation": "tanh"},
    ],
)
def test_variants_keep_size_and_range(options):
    net = make_net(**options).eval()
    y = net(torch.rand(2, 3, 30, 42))
    assert y.shape == (2, 3, 30, 42)
    if options.get("output_activation") in ("sigmoid", "tanh"):
        assert y.min() >= 0 and y.max() <= 1
    if "norm" in options:
        assert any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    if "upsampling" in options:
        assert any(isinstance(m, torch.nn.ConvTranspose2d) for m in net.modules())


@pytest.mark.parametrize(
    "options,message",
    [({"norm": "group"}, "model.norm"), ({"upsampling": "bilinear"}, "model.upsampling"), ({"output_activation": "relu"}, "output_activation")],
)
def test_invalid_options_name_the_option(options, message):
    with pytest.raises(FstError, match=message):
        make_net(**options)


def test_config_rebuilds_the_same_architecture():
    net = make_net(width=0.75, num_residual_blocks=3, upsampling="transposed")
    clone = TransformerNet(**net.config)
    clone.load_state_dict(net.state_dict())  # strict: same keys and shapes
    x = torch.rand(1, 3, 16, 16)
    assert torch.equal(net.eval()(x), clone.eval()(x))
