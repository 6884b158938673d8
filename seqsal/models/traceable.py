"""A :class:`~seqsal.models.adapter.SequenceModel` as a module ``torch.fx`` can trace through, network included.

``SequenceModel.forward`` decides at run time what the network returned (a
tensor, a tuple, a dict; one value, logits or a profile) and splits batches
for a fixed export size, which symbolic tracing cannot follow.
:class:`TracedAdapters` applies the same adapters with every decision taken
from the adapter settings instead, so that tracing sees the input layout,
the dtype casts, the chosen output, its reduction and the network's own
layers as one graph: windowed ISM can then cut windows through the network
and treat a sum or mean of a profile over positions as its boundary.
"""

from __future__ import annotations

import torch
from torch import fx, nn

from seqsal.models.adapter import DTYPES, SequenceModel, reduce_output

# Run as one call in the graph: how a (N,) or (N, T) output becomes logits is decided by its shape at run time.
fx.wrap("reduce_output")


class TracedAdapters(nn.Module):
    """The network of ``model`` behind its adapters, computing what ``model.call`` computes.

    Only a model without a fixed export batch size can be traced this way
    (the split into fixed batches depends on the input's size).
    """

    def __init__(self, model: SequenceModel) -> None:
        super().__init__()
        self.network = model.network
        self.adapters = model.adapters

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        adapters = self.adapters
        if adapters.input_layout == "NLC":
            x = x.transpose(1, 2)
        if adapters.dtype != "float32":
            x = x.to(DTYPES[adapters.dtype])
        output = self.network(x)
        if adapters.output_index is not None:
            output = output[adapters.output_index]
        elif adapters.output_key is not None:
            output = output[adapters.output_key]
        if adapters.reduce == "sum":  # written out, so that windowed ISM sees a sum over positions
            output = output.sum(dim=2)
        elif adapters.reduce == "mean":
            output = output.mean(dim=2)
        else:
            output = reduce_output(output, adapters.reduce)
        return output.to(torch.float32)


def traceable(model: nn.Module) -> nn.Module | None:
    """What to trace for ``model``: itself, its network behind :class:`TracedAdapters`, or ``None`` (untraceable)."""
    if not isinstance(model, SequenceModel):
        return model
    return TracedAdapters(model) if model.adapters.batch_size is None else None
