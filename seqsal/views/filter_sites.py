"""First-layer filters as position frequency matrices: align the windows each filter fires on.

A first-layer convolution filter is a position weight matrix in disguise, but
its weights are not probabilities and their scale says little.  The standard
reading (DeepBind, Alipanahi et al. 2015; Koo & Eddy, PLoS Comput Biol 2019)
asks the data instead: every window of the input whose activation reaches a
fraction of the filter's largest activation over the dataset is taken as a
*site* of that filter; aligning the sites gives a position frequency matrix
(PFM) with the filter's own width, which can be drawn as an
information-content logo and compared with a motif database.

Activations are taken where the filter is read: after the first
convolution's batch norm and activation, before pooling (found in the
model's graph by :mod:`seqsal.views.filter_layer`; a copy of those
operations, in eval mode, no gradients).  With ``padding="same"`` PyTorch pads
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
from seqsal.views.filter_layer import FirstLayer, first_layer

DEFAULT_FRACTION = 0.5

DEFAULT_PSEUDOCOUNT = 0.1
"""Counts added to every base of every column before normalising a filter's PFM.

A base never seen among a filter's sites is rare, not impossible; the
pseudocount keeps its probability above zero, so log-odds stay finite and a
handful of sites cannot claim certainty.  At 0.1 a column of ten identical sites still carries about 1.8
of 2 bits, while a column of hundreds of sites is practically unchanged.
"""

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
    model: nn.Module | FirstLayer,
    X: np.ndarray | torch.Tensor | Batches,
    fraction: float = DEFAULT_FRACTION,
    *,
    pseudocount: float = DEFAULT_PSEUDOCOUNT,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    layer: str | None = None,
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
        A 1D-CNN whose first layer is a ``Conv1d`` over one-hot DNA (any
        traceable module, or a model from :func:`seqsal.load_model`; see
        :func:`first_layer`), or its :class:`FirstLayer`.  The model itself is
        never run, moved or switched: activations come from a copy of its
        first layer.
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
    layer
        Qualified name of the convolution to read (see :func:`first_layer`);
        ``None`` takes the first that reads the input.

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
    if isinstance(model, FirstLayer):
        check(layer is None or layer == model.name,
              f"layer={layer!r} was given with the first layer {model.name!r}; give one of them")
    batches = X if callable(X) else _array_batches(X)
    target = resolve_device(device)
    found = (model if isinstance(model, FirstLayer) else first_layer(model, layer)).to(target)
    with torch.inference_mode():
        maxima, n_sequences, n_windows = _maxima(found, batches, batch_size, target)
        check(n_windows > 0, f"no window of {found.kernel_size} bases without N lies inside the sequences; "
                             f"give sequences of at least {found.kernel_size} resolved bases")
        thresholds = np.where(maxima > 0, fraction * maxima, np.nan)
        counts, n_sites = _count_sites(found, batches, batch_size, target, thresholds)
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
          "filter analysis supports Conv1d padding 'same', 'valid' or a number, and zero padding of the length")
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
