"""First-layer filters as position frequency matrices: align the windows each filter fires on.

A first-layer convolution filter is a position weight matrix in disguise, but
its weights are not probabilities and their scale says little.  The standard
reading (DeepBind, Alipanahi et al. 2015; Koo & Eddy, PLoS Comput Biol 2019)
asks the data instead: every window of the input whose activation reaches a
fraction of the filter's largest activation over the dataset is taken as a
*site* of that filter; aligning the sites gives a position frequency matrix
(PFM) with the filter's own width, which can be drawn as an
information-content logo and compared with a motif database.

Activations are taken where the filter is read: after the first block's
convolution, batch norm and activation (the model's own modules, in eval mode,
no gradients), before pooling.  With ``padding="same"`` PyTorch pads
``(k - 1) // 2`` columns on the left and the rest on the right, so output
position ``l`` reads input window ``[l - (k - 1) // 2, l - (k - 1) // 2 + k)``;
for even ``k`` the window leans right.  Windows that reach into that padding
or hold an ``N`` (an all-zero column) are never sites: part of what the filter
saw there is not a base, and counting it would blur the PFM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import torch
from torch import nn

from seqsal.checks import check_int, check_number
from seqsal.errors import check
from seqsal.models import resolve_device
from seqsal.motifs import Motif

DEFAULT_FRACTION = 0.5

DEFAULT_PSEUDOCOUNT = 0.1
"""Counts added to every base of every column before normalising a filter's PFM.

A base never seen among a filter's sites is rare, not impossible; the
pseudocount keeps its probability above zero, so log-odds stay finite and a
handful of sites cannot claim certainty.  At 0.1 a column of ten identical sites still carries about 1.8
of 2 bits, while a column of hundreds of sites is practically unchanged.
"""

_POOLING = (nn.MaxPool1d, nn.AvgPool1d, nn.AdaptiveMaxPool1d, nn.AdaptiveAvgPool1d, nn.LPPool1d)
_STOP = (*_POOLING, nn.Conv1d, nn.Linear, nn.Flatten)


@dataclass(frozen=True)
class FirstLayer:
    """The modules that compute first-layer activations, and how output positions map to input windows.

    Attributes
    ----------
    conv
        The first ``Conv1d`` (4 input channels, stride 1, dilation 1).
    stages
        ``conv`` followed by the modules after it in its ``nn.Sequential`` up
        to the first pooling layer (typically batch norm and the activation).
    left_pad
        Zero columns PyTorch puts before the sequence; output position ``l``
        reads input columns ``l - left_pad`` to ``l - left_pad + k - 1``.
    right_pad
        Zero columns after the sequence.
    """

    conv: nn.Conv1d
    stages: tuple[nn.Module, ...]
    left_pad: int
    right_pad: int

    @property
    def kernel_size(self) -> int:
        """Filter width ``k``."""
        return int(self.conv.kernel_size[0])

    @property
    def n_filters(self) -> int:
        """Number of filters (output channels)."""
        return int(self.conv.out_channels)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for stage in self.stages:
            x = stage(x)
        return x


def first_layer(model: nn.Module) -> FirstLayer:
    """Find a model's first convolution and the modules that turn its output into activations.

    The first ``Conv1d`` in ``model.modules()`` order is taken; it must read
    the 4 DNA channels with stride 1 and dilation 1, so that each output
    position corresponds to one contiguous window of ``k`` bases.  The modules
    that follow it in its ``nn.Sequential`` (batch norm, the activation) are
    applied too, up to the first pooling layer, because the activation is what
    decides which windows the network passes on.

    Raises
    ------
    SeqsalError
        If there is no such convolution, or it does not sit in an ``nn.Sequential``.
    """
    check(isinstance(model, nn.Module), f"filter analysis needs a torch model, got {type(model).__name__}")
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv1d)), None)
    check(conv is not None, f"{type(model).__name__} has no Conv1d layer; filter analysis needs a 1D-CNN over "
                            "one-hot DNA whose first layer is a Conv1d over 4 channels")
    check(conv.in_channels == 4 and conv.groups == 1,
          f"the first Conv1d of {type(model).__name__} reads {conv.in_channels} channels (groups={conv.groups}); "
          "filter analysis needs a first layer over the 4 one-hot DNA channels")
    check(conv.stride[0] == 1 and conv.dilation[0] == 1,
          f"the first Conv1d has stride {conv.stride[0]} and dilation {conv.dilation[0]}; filter analysis "
          "needs stride 1 and dilation 1, so that every output position reads one contiguous window")
    parent = next((m for m in model.modules() if isinstance(m, nn.Sequential)
                   and any(child is conv for child in m.children())), None)
    check(parent is not None, "the first Conv1d is not inside an nn.Sequential, so its batch norm and "
                              "activation cannot be found; wrap the first block in nn.Sequential")
    children = list(parent.children())
    stages = [conv]
    for module in children[[i for i, child in enumerate(children) if child is conv][0] + 1:]:
        if isinstance(module, _STOP):
            break
        stages.append(module)
    k = int(conv.kernel_size[0])
    if conv.padding == "same":
        # PyTorch's rule (also for even k): the extra column of an odd total goes to the right.
        left, right = (k - 1) // 2, k - 1 - (k - 1) // 2
    elif conv.padding == "valid":
        left = right = 0
    else:
        left = right = int(conv.padding[0])
    return FirstLayer(conv, tuple(stages), left, right)


# --------------------------------------------------------------------------- PFMs
@dataclass(frozen=True)
class FilterPFMs:
    """The aligned sites of every first-layer filter.

    Attributes
    ----------
    counts
        ``(F, 4, k)`` float64: how often each base occurs at each position of
        the filter's sites (rows ``A, C, G, T``).
    n_sites
        ``(F,)`` number of sites of each filter.
    max_activation
        ``(F,)`` largest activation of each filter over all windows that were
        eligible (inside the sequence, no ``N``); NaN when no window was.
    thresholds
        ``(F,)`` ``fraction * max_activation``: windows at or above it are
        sites; NaN for a filter whose largest activation is not positive.
    fraction
        The fraction of the maximum that was used.
    pseudocount
        Added to every count by :attr:`probabilities`.
    n_sequences, n_windows
        How many sequences were read and how many of their windows were eligible.
    """

    counts: np.ndarray
    n_sites: np.ndarray
    max_activation: np.ndarray
    thresholds: np.ndarray
    fraction: float
    pseudocount: float
    n_sequences: int
    n_windows: int

    @property
    def n_filters(self) -> int:
        """Number of filters ``F``."""
        return int(self.counts.shape[0])

    @property
    def kernel_size(self) -> int:
        """Filter width ``k``."""
        return int(self.counts.shape[2])

    @property
    def probabilities(self) -> np.ndarray:
        """``(F, 4, k)`` letter probabilities ``(counts + c) / (n_sites + 4c)``; uniform for a filter without sites."""
        c = self.pseudocount
        return (self.counts + c) / (self.n_sites[:, None, None] + 4 * c)

    def motif(self, index: int) -> Motif:
        """Filter ``index``'s PFM as a :class:`~seqsal.motifs.Motif` named ``filter_<index>``."""
        check(0 <= index < self.n_filters, f"filter index {index} is out of range 0-{self.n_filters - 1}")
        return Motif(f"filter_{index}", f"filter_{index}", self.probabilities[index])

    def information_content(self) -> np.ndarray:
        """``(F, k)`` information content in bits per position (uniform background); 0 for filters without sites."""
        content = np.stack([self.motif(i).information_content() for i in range(self.n_filters)])
        content[self.n_sites == 0] = 0.0
        return content

    def consensus(self) -> list[str]:
        """Most frequent base per position of each filter's sites; an empty string for a filter without sites."""
        return [self.motif(i).consensus if self.n_sites[i] else "" for i in range(self.n_filters)]


Batches = Callable[[], Iterable[np.ndarray]]


def filter_pfms(
    model: nn.Module,
    X: np.ndarray | torch.Tensor | Batches,
    fraction: float = DEFAULT_FRACTION,
    *,
    pseudocount: float = DEFAULT_PSEUDOCOUNT,
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> FilterPFMs:
    """Align the windows that activate each first-layer filter and count their bases.

    Two passes over the data: the first finds each filter's largest
    activation, the second counts the bases of every window whose activation
    is at least ``fraction`` times that maximum (the comparison is ``>=``, so
    ``fraction=1`` keeps exactly the windows that reach the maximum).  Only
    windows fully inside the sequence and free of ``N`` are eligible, both for
    the maximum and as sites.  A filter whose largest activation is not
    positive (a ReLU filter that never fires) has no sites: a fraction of zero
    would otherwise admit every window.

    Parameters
    ----------
    model
        A 1D-CNN whose first layer is a ``Conv1d`` over one-hot DNA; see
        :func:`first_layer`.  Its mode and device are restored afterwards.
    X
        One-hot sequences ``(N, 4, L)`` (``N`` columns all zero), or a callable
        that returns a fresh iterable of such batches each time it is called,
        so that a large FASTA can be streamed (it is read twice).
    fraction
        Share of a filter's maximum a window must reach to count, in ``(0, 1]``.
    pseudocount
        Counts added per base when converting to probabilities (see
        :data:`DEFAULT_PSEUDOCOUNT`).
    batch_size
        Sequences per forward pass; results do not depend on it.
    device
        Where to compute; ``None`` means CUDA if available.

    Returns
    -------
    FilterPFMs

    Raises
    ------
    SeqsalError
        For a model without a suitable first layer, an empty input, an input
        that is not one-hot, a fraction outside ``(0, 1]`` or no eligible window.
    """
    fraction = check_number(fraction, "fraction", minimum=0, maximum=1, include_minimum=False)
    pseudocount = check_number(pseudocount, "pseudocount", minimum=0, include_minimum=False)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    layer = first_layer(model)
    batches = X if callable(X) else _array_batches(X)
    target = resolve_device(device)
    original_device = next(model.parameters(), torch.empty(0)).device
    was_training = model.training
    try:
        model.to(target).eval()
        with torch.inference_mode():
            maxima, n_sequences, n_windows = _maxima(layer, batches, batch_size, target)
            check(n_windows > 0, f"no window of {layer.kernel_size} bases without N lies inside the sequences; "
                                 f"give sequences of at least {layer.kernel_size} resolved bases")
            thresholds = np.where(maxima > 0, fraction * maxima, np.nan)
            counts, n_sites = _count_sites(layer, batches, batch_size, target, thresholds)
    finally:
        model.to(original_device).train(was_training)
    return FilterPFMs(counts, n_sites, maxima, thresholds, float(fraction), float(pseudocount),
                      n_sequences, n_windows)


def _array_batches(X: np.ndarray | torch.Tensor) -> Batches:
    check(isinstance(X, (np.ndarray, torch.Tensor)),
          f"X must be one-hot sequences (N, 4, L) or a callable yielding batches, got {type(X).__name__}")
    check(len(X) > 0, "X is empty; pass at least one one-hot sequence")
    return lambda: [X]


def _batches(batches: Batches, batch_size: int, device: torch.device) -> Iterable[torch.Tensor]:
    """Every batch from ``batches`` as checked float32 tensors of at most ``batch_size`` sequences."""
    empty = True
    for batch in batches():
        tensor = torch.as_tensor(np.asarray(batch) if not isinstance(batch, torch.Tensor) else batch)
        tensor = tensor.detach().to("cpu", torch.float32)
        check(tensor.ndim == 3 and tensor.shape[1] == 4,
              f"sequences have shape {tuple(tensor.shape)}; filter analysis needs one-hot (N, 4, L), "
              "e.g. from seqsal.encoding.one_hot")
        check(bool(((tensor == 0) | (tensor == 1)).all()) and bool((tensor.sum(dim=1) <= 1).all()),
              "sequences are not one-hot: every column must be one base (a single 1) or N (all zeros); "
              "encode them with seqsal.encoding.one_hot")
        for start in range(0, tensor.shape[0], batch_size):
            empty = False
            yield tensor[start:start + batch_size].to(device)
    check(not empty, "no sequences were given; pass at least one one-hot sequence")


def _windows(layer: FirstLayer, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Activations ``(B, F, P)`` and, per output position, whether its window is eligible ``(B, P)``."""
    activations = layer(x)
    resolved = x.sum(dim=1) > 0
    padded = nn.functional.pad(resolved, (layer.left_pad, layer.right_pad), value=False)
    eligible = padded.unfold(1, layer.kernel_size, 1).all(dim=2)
    check(eligible.shape[1] == activations.shape[2],
          f"the first layer gives {activations.shape[2]} positions but its padding implies {eligible.shape[1]}; "
          "filter analysis supports Conv1d padding 'same', 'valid' or a number")
    return activations, eligible


def _maxima(layer: FirstLayer, batches: Batches, batch_size: int,
            device: torch.device) -> tuple[np.ndarray, int, int]:
    maxima = torch.full((layer.n_filters,), -torch.inf, dtype=torch.float64)
    n_sequences = n_windows = 0
    for x in _batches(batches, batch_size, device):
        activations, eligible = _windows(layer, x)
        masked = activations.masked_fill(~eligible[:, None, :], -torch.inf)
        maxima = torch.maximum(maxima, masked.amax(dim=(0, 2)).double().cpu())
        n_sequences += x.shape[0]
        n_windows += int(eligible.sum())
    maxima = maxima.numpy()
    return np.where(np.isfinite(maxima), maxima, np.nan), n_sequences, n_windows


def _count_sites(layer: FirstLayer, batches: Batches, batch_size: int, device: torch.device,
                 thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k = layer.kernel_size
    counts = np.zeros((layer.n_filters, 4, k))
    n_sites = np.zeros(layer.n_filters, dtype=np.int64)
    # A NaN threshold (no positive activation) compares false with everything: no sites.
    cutoff = torch.as_tensor(thresholds, dtype=torch.float64, device=device)[None, :, None]
    for x in _batches(batches, batch_size, device):
        activations, eligible = _windows(layer, x)
        sites = (activations.double() >= cutoff) & eligible[:, None, :]
        padded = nn.functional.pad(x, (layer.left_pad, layer.right_pad))
        windows = padded.unfold(2, k, 1)  # (B, 4, P, k): window of output position p
        # Per-batch sums stay below 2^24, so float32 counts are exact integers.
        counts += torch.einsum("bfp,bcpk->fck", sites.float(), windows).double().cpu().numpy()
        n_sites += sites.sum(dim=(0, 2)).cpu().numpy()
    return counts, n_sites
