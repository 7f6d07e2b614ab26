"""Any painting, no training per painting: a style network whose instance-norm scales and shifts are predicted from
the painting (Ghiasi et al., "Exploring the structure of a real-time, arbitrary neural artistic stylization
network", BMVC 2017).

A style encoder turns a painting into a style embedding of ``embedding_size`` numbers: the mean and standard
deviation of each channel of a frozen VGG16 at the style loss's layers (what the Gram matrices measure, in a form
that does not depend on the painting's size), then a small trained MLP. The transformer is the conditional network
of :mod:`fst.models.conditional_net` over the style vector ``[embedding, 1]``: each conditional norm's scale and
shift are an affine function of the embedding. So mixing paintings is mixing their vectors, and everything that
takes a multi-style network's style weights (the stylizer, exports, extracting a one-style network, adaptation)
takes a painting's style vector as it is.

The encoder's VGG16 holds the ImageNet weights the perceptual loss uses, three quarters of the network's size: a
model file leaves them out (:meth:`ArbitraryStyleNet.file_state`), and a loaded model reads them where the loss does
(``FST_VGG_WEIGHTS``, else torchvision's download) when it first encodes a painting.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torchvision.transforms.v2.functional as TF
from torch import nn

from fst.errors import FstError
from fst.losses.vgg import WEIGHTS_VARIABLES, VGGFeatures
from fst.models.conditional_net import ConditionalTransformerNet, conditional_norms, copy_convolutions
from fst.models.registry import register_architecture

# The VGG16 layers the encoder describes a painting by: those of the shipped models' style loss.
ENCODER_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
ENCODER_CHANNELS = (64, 128, 256, 512)
STATISTICS = 2 * sum(ENCODER_CHANNELS)  # a mean and a standard deviation per channel
ENCODER_SIZE = 384  # the long side a painting is encoded at: the size the shipped styles' Gram targets use
ENCODER_VGG = "style_encoder.vgg."  # the state-dict keys of the encoder's VGG16


def feature_statistics(features: dict[str, torch.Tensor]) -> torch.Tensor:
    """(B, STATISTICS): each channel's mean and standard deviation at every encoder layer, in float32."""
    parts = []
    for name in ENCODER_LAYERS:
        flat = features[name].float().flatten(2)
        parts += [flat.mean(dim=2), flat.std(dim=2)]
    return torch.cat(parts, dim=1)


def painting_statistics(vgg: VGGFeatures, paintings: torch.Tensor) -> torch.Tensor:
    """(B, STATISTICS) of (B, 3, H, W) paintings in [0, 1], seen by a VGG16 with the encoder's weights (the style
    encoder's own, or the loss's during training: the same ImageNet weights)."""
    with torch.no_grad():
        return feature_statistics(vgg(paintings, list(ENCODER_LAYERS)))


def at_encoder_size(painting: torch.Tensor) -> torch.Tensor:
    """A (1, 3, H, W) painting resized so that its long side is ENCODER_SIZE, as :meth:`ArbitraryStyleNet.encode`
    wants it."""
    height, width = painting.shape[-2:]
    if max(height, width) == ENCODER_SIZE:
        return painting
    size = [max(1, round(side * ENCODER_SIZE / max(height, width))) for side in (height, width)]
    return TF.resize(painting, size, interpolation=TF.InterpolationMode.BICUBIC, antialias=True).clamp(0, 1)


class StyleEncoder(nn.Module):
    """Painting -> style embedding: frozen VGG16 statistics, then a trained MLP.

    Args:
        embedding_size: the numbers the MLP describes a painting with (Ghiasi et al. use 100).
        vgg_weights: where the frozen VGG16's weights come from when the network is built for training (as
            ``loss.vgg_weights``); None: they come with the model file (or, when it leaves them out, as
            :meth:`read_vgg_when_needed` says).
    """

    def __init__(self, embedding_size: int, vgg_weights: str | None = None):
        super().__init__()
        self.load_vgg(vgg_weights)
        self.vgg_left_out_of: str | None = None  # the model file that left the VGG16 out (read_vgg_when_needed)
        # The statistics span orders of magnitude (relu1_2 against relu4_3): a frozen normalization keeps the first
        # layer's inputs near unit scale. Set from the training corpus by fit_normalization.
        self.register_buffer("statistics_mean", torch.zeros(STATISTICS))
        self.register_buffer("statistics_std", torch.ones(STATISTICS))
        self.mlp = nn.Sequential(nn.Linear(STATISTICS, 512), nn.ReLU(inplace=True), nn.Linear(512, embedding_size))

    def load_vgg(self, source: str | None) -> None:
        """A frozen VGG16 with the weights of ``source`` (as ``loss.vgg_weights``), which is remembered: a model
        file leaves out weights that come from a source (not those of ``random`` or of None)."""
        self.vgg = VGGFeatures("vgg16", list(ENCODER_LAYERS), weights=source)
        self.vgg_source = source

    def read_vgg_when_needed(self, model: str) -> None:
        """The file of ``model`` leaves the VGG16 out: read it from the loss's source (``FST_VGG_WEIGHTS``, else
        torchvision's ImageNet download) when a painting is first encoded. A model that paints only the styles
        it knows by name never needs it."""
        self.vgg_source = None
        self.vgg_left_out_of = model

    def _read_left_out_vgg(self) -> None:
        variable, model = WEIGHTS_VARIABLES["vgg16"], self.vgg_left_out_of
        source = os.environ.get(variable, "imagenet")
        if source not in ("imagenet", "random") and not Path(source).expanduser().is_file():
            raise FstError(f"{model} reads paintings with the ImageNet VGG16 of {variable}={source}, which is not a "
                           f"file; point {variable} at those weights (or unset it to download them)")
        placeholder = self.vgg.features[0].weight  # where the network was moved, and in which dtype
        try:
            self.load_vgg(source)
        except FstError as exc:
            raise FstError(f"{model} reads paintings with the ImageNet VGG16, which it does not hold: {exc}") from None
        self.vgg.to(placeholder.device, placeholder.dtype)
        self.vgg_left_out_of = None

    def statistics(self, paintings: torch.Tensor) -> torch.Tensor:
        """(B, STATISTICS) of (B, 3, H, W) paintings in [0, 1]."""
        if self.vgg_left_out_of:
            self._read_left_out_vgg()
        return painting_statistics(self.vgg, paintings)

    @torch.no_grad()
    def fit_normalization(self, statistics: torch.Tensor) -> None:
        """Normalize the MLP's input by the mean and spread of (N, STATISTICS) statistics of many paintings."""
        self.statistics_mean.copy_(statistics.mean(dim=0))
        self.statistics_std.copy_(statistics.std(dim=0).clamp(min=1e-6))

    def forward(self, statistics: torch.Tensor) -> torch.Tensor:
        """(B, embedding_size) embeddings of (B, STATISTICS) painting statistics."""
        return self.mlp((statistics.float() - self.statistics_mean) / self.statistics_std)


@register_architecture("arbitrary_style_net")
class ArbitraryStyleNet(ConditionalTransformerNet):
    """A conditional TransformerNet over predicted style vectors (``conf/model/arbitrary_style_net.yaml``).

    ``forward(x, style)`` takes (B, embedding_size + 1) style vectors (:meth:`style_vector`), as a multi-style
    network takes its style weights; ``num_styles`` is their length.

    Args:
        embedding_size: the length of a painting's style embedding.
        known_styles: named paintings whose statistics the model file keeps (``style=candy`` needs no painting
            file); their statistics are set by training.
        width, num_residual_blocks, upsampling, output_activation: as for TransformerNet.
        vgg_weights: as for :class:`StyleEncoder`; not part of the model's card.
    """

    def __init__(self, embedding_size: int, known_styles: int, width: float, num_residual_blocks: int, upsampling: str,
                 output_activation: str, vgg_weights: str | None = None):
        if embedding_size < 1 or known_styles < 0:
            raise ValueError(f"model.embedding_size must be >= 1 (got {embedding_size}) and known_styles >= 0 (got {known_styles})")
        super().__init__(embedding_size + 1, width, num_residual_blocks, upsampling, output_activation)
        self.config = dict(embedding_size=int(embedding_size), known_styles=int(known_styles), width=float(width),
                           num_residual_blocks=int(num_residual_blocks), upsampling=upsampling,
                           output_activation=output_activation)
        self.style_encoder = StyleEncoder(embedding_size, vgg_weights)
        self.register_buffer("known_statistics", torch.zeros(known_styles, STATISTICS))

    def style_vector(self, statistics: torch.Tensor) -> torch.Tensor:
        """(B, embedding_size + 1) style vectors ``[embedding, 1]`` of (B, STATISTICS) painting statistics."""
        embedding = self.style_encoder(statistics)
        return torch.cat([embedding, torch.ones_like(embedding[:, :1])], dim=1)

    @torch.no_grad()
    def encode(self, painting: torch.Tensor) -> torch.Tensor:
        """The (embedding_size + 1,) style vector of one (3, H, W) or (1, 3, H, W) painting in [0, 1], which
        should have its long side at ENCODER_SIZE (:func:`at_encoder_size`)."""
        batch = painting if painting.ndim == 4 else painting[None]
        return self.style_vector(self.style_encoder.statistics(batch.float()))[0]

    def file_state(self) -> dict[str, torch.Tensor]:
        """What a model file holds: the state dict, less the encoder's VGG16 when its weights came from a source
        that loading can read again (:meth:`complete_state`). Random ones (tests) stay in the file."""
        state = self.state_dict()
        encoder = self.style_encoder
        if encoder.vgg_source in (None, "random") and not encoder.vgg_left_out_of:
            return state
        return {key: value for key, value in state.items() if not key.startswith(ENCODER_VGG)}

    def complete_state(self, state: dict[str, torch.Tensor], path) -> dict[str, torch.Tensor]:
        """A model file's ``state``; where the file leaves out the encoder's VGG16, the encoder reads it when it
        first needs it (:meth:`StyleEncoder.read_vgg_when_needed`) and a placeholder stands in for it."""
        if any(key.startswith(ENCODER_VGG) for key in state):
            return state
        self.style_encoder.read_vgg_when_needed(str(path))
        own = self.state_dict()
        return {**state, **{key: own[key] for key in own if key.startswith(ENCODER_VGG)}}

    @property
    def transformer_options(self) -> dict:
        """The options of its TransformerNet layout (width, residual blocks, upsampling, output activation)."""
        return {k: v for k, v in self.config.items() if k not in ("embedding_size", "known_styles")}

    def one_style_network(self) -> nn.Module:
        from fst.models.transformer_net import TransformerNet

        return TransformerNet(norm="instance", **self.transformer_options)


@torch.no_grad()
def start_from_multi_style(net: ArbitraryStyleNet, base: ConditionalTransformerNet, base_statistics: torch.Tensor,
                           corpus_statistics: torch.Tensor, steps: int = 300) -> None:
    """Make ``net`` paint each style of the multi-style ``base`` as ``base`` does, from that style's painting
    statistics ((S, STATISTICS), in ``base``'s order): a start that already paints, for training on a corpus of
    paintings (``corpus_statistics``: a sample of them, to normalize the encoder's input).

    The convolutions are the base's. Every conditional norm gets the base styles' mean scale and shift as its
    constant row, and each style's difference from the mean on an embedding dimension of its own; the encoder's
    MLP is then fitted to give each base painting its one-hot embedding, and the corpus paintings the embedding 0
    (the base styles' mean): an untrained MLP would give them embeddings of any size, and wild scales.
    """
    styles, size = base.num_styles, net.config["embedding_size"]
    if styles > size:
        raise ValueError(f"the base paints {styles} styles, more than the embedding's {size} dimensions")
    copy_convolutions(net, base)
    for target, source in zip(conditional_norms(net), conditional_norms(base), strict=True):
        for name in ("scale", "shift"):
            rows, base_rows = getattr(target, name), getattr(source, name)
            mean = base_rows.mean(dim=0)
            rows.zero_()
            rows[:styles] = base_rows - mean
            rows[size] = mean  # the constant 1 of every style vector
    encoder = net.style_encoder
    encoder.fit_normalization(torch.cat([corpus_statistics, base_statistics]))
    statistics = torch.cat([base_statistics, corpus_statistics])
    wanted = torch.cat([torch.eye(styles, size), torch.zeros(len(corpus_statistics), size)])
    with torch.enable_grad():
        optimizer = torch.optim.Adam(encoder.mlp.parameters(), lr=1e-3)
        for _ in range(steps):
            optimizer.zero_grad()
            loss = (encoder(statistics) - wanted).pow(2).mean()
            loss.backward()
            optimizer.step()


@torch.no_grad()
def to_multi_style(net: ArbitraryStyleNet, vectors: torch.Tensor) -> ConditionalTransformerNet:
    """A multi-style network that paints each of the (S, embedding_size + 1) style ``vectors`` exactly as ``net``
    does: the same convolutions, and each conditional norm's scale and shift rows those the vectors predict. An
    adaptation (experiment=adapt) from a model that paints any painting starts from here."""
    plain = ConditionalTransformerNet(num_styles=len(vectors), **net.transformer_options)
    copy_convolutions(plain, net)
    for target, source in zip(conditional_norms(plain), conditional_norms(net), strict=True):
        target.scale.copy_(vectors @ source.scale)
        target.shift.copy_(vectors @ source.shift)
    return plain.eval()
