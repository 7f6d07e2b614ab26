"""The arithmetic a style network does per frame, independent of the machine that runs it."""

from __future__ import annotations

import torch
from torch import nn
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.utils.flop_counter import FlopCounterMode

from fst.models.conditional_net import is_multi_style


@torch.no_grad()
def multiply_adds(net: nn.Module, height: int, width: int) -> int:
    """Multiply-adds of one forward pass over a ``height`` x ``width`` frame.

    The pass runs on fake tensors (shapes only, as torch.compile traces), so it costs no arithmetic itself.
    """
    with FakeTensorMode(allow_non_fake_inputs=True), FlopCounterMode(display=False) as counter:
        inputs = [torch.empty(1, 3, height, width)]
        if is_multi_style(net):
            inputs.append(torch.eye(net.num_styles)[:1])
        net.eval()(*inputs)
    return counter.get_total_flops() // 2
