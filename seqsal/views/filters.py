"""First-layer filters as motifs: align what each filter fires on, and name it.

A first-layer convolution filter is a position weight matrix in disguise, but
its weights are not probabilities and their scale says little.  The standard
reading (DeepBind, Alipanahi et al. 2015; Koo & Eddy, PLoS Comput Biol 2019)
asks the data instead: every window of the input whose activation reaches a
fraction of the filter's largest activation over the dataset is taken as a
*site* of that filter; aligning the sites gives a position frequency matrix
(PFM) with the filter's own width, which can be drawn as an
information-content logo and compared with a motif database.

The comparison is Tomtom (Gupta et al., Genome Biology 2007) as implemented
by memelite (``pip install 'seqsal[motifs]'``).  memelite returns, for each
filter and database motif, the p-value of the best alignment over both
orientations of the motif (already corrected for trying two strands,
``1 - (1 - p)^2``).  q-values here are Benjamini-Hochberg adjusted over the
filter's comparisons with every motif of the database, so "q < 0.05" reads:
among the database motifs this filter is called similar to, at most 5 % are
expected to be chance.

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

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from scipy import stats
from torch import nn

from seqsal import io
from seqsal.encoding import ALPHABET
from seqsal.errors import SeqsalError, check
from seqsal.models import EnhancerCNN, load_model, model_provenance, resolve_device
from seqsal.motifs import Motif, MotifDatabase
from seqsal.plot import plot_logo

DEFAULT_FRACTION = 0.5
DEFAULT_MIN_SITES = 10
DEFAULT_Q_THRESHOLD = 0.05
DEFAULT_MAX_PANELS = 48

DEFAULT_PSEUDOCOUNT = 0.1
"""Counts added to every base of every column before normalising a filter's PFM.

A base never seen among a filter's sites is rare, not impossible; the
pseudocount keeps its probability above zero, so log-odds stay finite and a
handful of sites cannot claim certainty.  At 0.1 a column of ten identical sites still carries about 1.8
of 2 bits, while a column of hundreds of sites is practically unchanged.
"""

_POOLING = (nn.MaxPool1d, nn.AvgPool1d, nn.AdaptiveMaxPool1d, nn.AdaptiveAvgPool1d, nn.LPPool1d)
_STOP = (*_POOLING, nn.Conv1d, nn.Linear, nn.Flatten)

TABLE_COLUMNS = ("filter", "n_sites", "max_activation", "threshold", "information_content", "consensus",
                 "match_id", "match_name", "p_value", "q_value", "offset", "orientation", "overlap", "matched")


# --------------------------------------------------------------------------- first layer
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
    check(isinstance(fraction, (int, float)) and not isinstance(fraction, bool) and 0 < fraction <= 1,
          f"fraction must be a number in (0, 1], got {fraction!r}; 0.5 keeps windows reaching half the maximum")
    check(isinstance(pseudocount, (int, float)) and pseudocount > 0,
          f"pseudocount must be positive, got {pseudocount!r}")
    check(isinstance(batch_size, int) and batch_size > 0, f"batch_size must be a positive integer, got {batch_size!r}")
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


# --------------------------------------------------------------------------- matching
def match_filters(
    pfms: FilterPFMs,
    motif_db: MotifDatabase | str | os.PathLike | None = None,
    *,
    min_sites: int = DEFAULT_MIN_SITES,
    q_threshold: float = DEFAULT_Q_THRESHOLD,
) -> pd.DataFrame:
    """Compare each filter's PFM with a motif database (Tomtom) and report its best match.

    Filters with fewer than ``min_sites`` sites are listed but not compared:
    a handful of windows gives a PFM that is mostly pseudocount, and testing
    it would only add noise to the fraction of filters that match.  For the
    others, memelite's Tomtom scores the PFM against every database motif in
    both orientations; the best match is the motif with the smallest p-value
    and its q-value is the Benjamini-Hochberg adjustment over this filter's
    comparisons with the whole database (see the module docstring).

    Parameters
    ----------
    pfms
        From :func:`filter_pfms`.
    motif_db
        A :class:`~seqsal.motifs.MotifDatabase`, a MEME/JASPAR file, or
        ``None`` for the bundled JASPAR 2016 vertebrate collection.  Tomtom's
        p-values use the database columns as background, so use a whole
        database, not a handful of motifs.
    min_sites
        Sites a filter needs to be compared.
    q_threshold
        A filter *matches* when its best q-value is below this.

    Returns
    -------
    pandas.DataFrame
        One row per filter with the columns of :data:`TABLE_COLUMNS`:
        ``information_content`` is the PFM's total in bits; ``offset`` is the
        position of the database motif (in the matched orientation) that lines
        up with the filter's first position, negative when the filter's
        position ``-offset`` lines up with the motif's first; ``orientation``
        is ``+`` for the motif as given and ``-`` for its reverse complement;
        ``overlap`` is the number of aligned positions; ``matched`` is
        ``"yes"`` or ``"no"``.  Match columns are empty for untested filters.

    Raises
    ------
    SeqsalError
        If memelite is not installed, or a parameter is out of range.
    """
    check(isinstance(pfms, FilterPFMs), f"match_filters needs the result of filter_pfms, got {type(pfms).__name__}")
    check(isinstance(min_sites, int) and min_sites >= 1, f"min_sites must be a positive integer, got {min_sites!r}")
    check(0 < q_threshold <= 1, f"q_threshold must be in (0, 1], got {q_threshold!r}")
    database = _database(motif_db)
    table = pd.DataFrame({
        "filter": np.arange(pfms.n_filters),
        "n_sites": pfms.n_sites,
        "max_activation": pfms.max_activation,
        "threshold": pfms.thresholds,
        "information_content": pfms.information_content().sum(axis=1),
        "consensus": pfms.consensus(),
        "match_id": "", "match_name": "", "p_value": np.nan, "q_value": np.nan,
        "offset": pd.array([pd.NA] * pfms.n_filters, dtype="Int64"), "orientation": "",
        "overlap": pd.array([pd.NA] * pfms.n_filters, dtype="Int64"), "matched": "no",
    })
    tested = np.flatnonzero(pfms.n_sites >= min_sites)
    if tested.size:
        tomtom = _tomtom()
        targets = list(database)
        p_values, _, offsets, overlaps, strands = tomtom(
            [np.ascontiguousarray(pfms.probabilities[i]) for i in tested],
            [np.ascontiguousarray(motif.pwm) for motif in targets])
        for row, index in enumerate(tested):
            best = int(np.argmin(p_values[row]))
            q_values = stats.false_discovery_control(p_values[row])
            table.loc[index, ["match_id", "match_name"]] = targets[best].id, targets[best].name
            table.loc[index, ["p_value", "q_value"]] = p_values[row, best], q_values[best]
            table.loc[index, ["offset", "overlap"]] = int(offsets[row, best]), int(overlaps[row, best])
            table.loc[index, "orientation"] = "+-"[int(strands[row, best])]
            table.loc[index, "matched"] = "yes" if q_values[best] < q_threshold else "no"
    return table[list(TABLE_COLUMNS)]


def _database(motif_db: MotifDatabase | str | os.PathLike | None) -> MotifDatabase:
    if motif_db is None:
        return MotifDatabase.default()
    if isinstance(motif_db, MotifDatabase):
        return motif_db
    return MotifDatabase.from_file(motif_db)


def _tomtom() -> Callable:
    """memelite's Tomtom, imported on first use because memelite (and numba) are an optional extra."""
    try:
        from memelite import tomtom
    except ImportError:
        raise SeqsalError("matching filters to known motifs needs memelite; install it with "
                          "pip install 'seqsal[motifs]'") from None
    return tomtom


def summarize(table: pd.DataFrame) -> dict:
    """Counts a reader wants first: filters, filters tested, filters matched, and the motifs they match.

    ``fraction_matched`` is over all filters (a dead filter is a filter that
    learned nothing); ``fraction_of_tested_matched`` is over filters with
    enough sites to be compared.
    """
    n_filters = len(table)
    tested = table["match_id"] != ""
    matched = table["matched"] == "yes"
    names = table.loc[matched, "match_name"]
    return {
        "n_filters": n_filters,
        "n_tested": int(tested.sum()),
        "n_matched": int(matched.sum()),
        "fraction_matched": float(matched.sum() / n_filters) if n_filters else 0.0,
        "fraction_of_tested_matched": float(matched.sum() / tested.sum()) if tested.any() else 0.0,
        "motifs_matched": {str(name): int(count) for name, count in names.value_counts().items()},
    }


# --------------------------------------------------------------------------- files and figures
def meme_text(pfms: FilterPFMs, min_sites: int = 1) -> str:
    """Filter PFMs in MEME minimal format, for Tomtom, MEME-ChIP or seqsal's own :class:`MotifDatabase`.

    Each filter with at least ``min_sites`` sites becomes ``MOTIF filter_<i>
    <consensus>``; ``nsites`` is its number of sites.  Filters without sites
    are left out: they have no PFM, only a uniform guess.
    """
    lines = ["MEME version 4", "", f"ALPHABET= {ALPHABET}", "", "strands: + -", "",
             "Background letter frequencies", "A 0.25 C 0.25 G 0.25 T 0.25", ""]
    probabilities = pfms.probabilities
    for index, consensus in enumerate(pfms.consensus()):
        if pfms.n_sites[index] < max(min_sites, 1):
            continue
        lines += [f"MOTIF filter_{index} {consensus}", "",
                  f"letter-probability matrix: alength= 4 w= {pfms.kernel_size} nsites= {pfms.n_sites[index]} E= 0"]
        lines += [" ".join(f"{p:.6f}" for p in column) for column in probabilities[index].T]
        lines.append("")
    return "\n".join(lines)


def information_matrix(probabilities: np.ndarray) -> np.ndarray:
    """Letter heights of an information-content logo: ``p_b * IC`` per column, in bits (uniform background).

    Information content is what makes logos of different filters comparable:
    a column of four equal letters is empty, a fully determined base is two
    bits tall.
    """
    p = np.asarray(probabilities, dtype=float)
    check(p.ndim == 2 and p.shape[0] == 4 and p.shape[1] > 0,
          f"a PFM must be (4, width) with rows A, C, G, T, got shape {p.shape}")
    return p * Motif("logo", "logo", p).information_content()


def plot_filter_logo(probabilities: np.ndarray, *, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Draw one PFM as an information-content logo (logomaker, through :func:`seqsal.plot.plot_logo`), y axis 0-2 bits."""
    ax = plot_logo(information_matrix(probabilities), ax=ax, title=title, ylabel="bits")
    ax.set_ylim(0, 2)
    ax.set_yticks([0, 1, 2])
    return ax


def plot_filter_logos(pfms: FilterPFMs, table: pd.DataFrame, *, min_sites: int = DEFAULT_MIN_SITES,
                      columns: int = 8, max_panels: int = DEFAULT_MAX_PANELS) -> Figure:
    """A grid of information-content logos: matched filters first (best q first), then the most informative.

    Panels are titled ``f<index>`` with the best match and its q-value when
    the filter matches (``table`` from :func:`match_filters`), so a reader can
    go from a panel to its row.  Filters with fewer than ``min_sites`` sites
    are left out (their logos would be pseudocount), and at most
    ``max_panels`` are drawn: logomaker takes about a third of a second per
    panel, and a first layer can hold hundreds of filters; every filter is in
    ``filters.tsv`` and ``filters.meme``.
    """
    check(columns > 0, f"columns must be positive, got {columns}")
    check(max_panels > 0, f"max_panels must be positive, got {max_panels}")
    eligible = table[table["n_sites"] >= min_sites]
    matched = eligible[eligible["matched"] == "yes"].sort_values("q_value", kind="stable")
    others = eligible[eligible["matched"] != "yes"].sort_values("information_content", ascending=False, kind="stable")
    shown = [int(i) for i in pd.concat([matched, others])["filter"].head(max_panels)]
    columns = min(columns, max(len(shown), 1))
    n_rows = max(1, -(-len(shown) // columns))
    width, height = columns * max(2.2, 0.3 * pfms.kernel_size), n_rows * 1.9 + 0.9
    # Fixed margins in inches: a layout engine over dozens of panels costs more than drawing them.
    fig, axes = plt.subplots(n_rows, columns, figsize=(width, height), squeeze=False, gridspec_kw=dict(
        left=0.7 / width, right=1 - 0.1 / width, bottom=0.55 / height, top=1 - 0.45 / height,
        hspace=0.85, wspace=0.25))
    row_of = table.set_index("filter")
    for number, (ax, index) in enumerate(zip(axes.flat, shown)):
        row = row_of.loc[index]
        label = f"f{index}: {row['match_name']} (q={row['q_value']:.1g})" if row["matched"] == "yes" \
            else f"f{index}: no match"
        plot_filter_logo(pfms.probabilities[index], ax=ax, title=f"{label}\n{row['n_sites']} sites")
        ax.title.set_fontsize(8)
        ax.set_xlabel("")  # one shared axis label below the grid
        ax.set_ylabel("")
        ax.tick_params(labelsize=7)
        if number % columns:
            ax.tick_params(labelleft=False)
    for ax in axes.flat[len(shown):]:
        ax.axis("off")
    if not shown:
        axes.flat[0].text(0.5, 0.5, f"no filter has {min_sites} or more sites", ha="center", va="center")
    fig.supxlabel("filter position", y=0.15 / height)
    fig.supylabel("information content (bits)", x=0.1 / width)
    return fig


@dataclass(frozen=True)
class FilterSettings:
    """Everything that decides the numbers of a filter analysis; recorded in its manifest."""

    fraction: float = DEFAULT_FRACTION
    min_sites: int = DEFAULT_MIN_SITES
    q_threshold: float = DEFAULT_Q_THRESHOLD
    pseudocount: float = DEFAULT_PSEUDOCOUNT
    motif_db: str | None = None
    fit: bool = False
    batch_size: int = 256
    max_logos: int = DEFAULT_MAX_PANELS


def write_filter_report(
    out: str | os.PathLike,
    pfms: FilterPFMs,
    table: pd.DataFrame,
    settings: FilterSettings,
    provenance: dict | None = None,
) -> Path:
    """Write ``filters.tsv``, ``filters.meme``, ``filter_logos.png``, ``report.html`` and ``manifest.json``.

    The manifest says ``complete: false`` while the other files are written
    and is completed last, so an interrupted run is recognisable as one.

    Parameters
    ----------
    out
        Output folder: new, empty, or an earlier seqsal output.
    pfms, table
        From :func:`filter_pfms` and :func:`match_filters`.
    settings
        The parameters used, recorded in the manifest and the report.
    provenance
        Extra manifest entries, e.g. the input and model files with hashes.

    Returns
    -------
    pathlib.Path
        The folder.
    """
    from seqsal.plot import save_figure
    from seqsal.report import Report

    folder = io.prepare_output_dir(out)
    # Until the last file is written the folder says it is unfinished (and stays recognisably seqsal's).
    manifest = {**io.manifest_header("filters"), **(provenance or {})}
    io.write_json(folder / io.MANIFEST, manifest)
    summary = summarize(table)
    io.write_table(folder / "filters.tsv", table)
    io.write_text(folder / "filters.meme", meme_text(pfms))
    figure = plot_filter_logos(pfms, table, min_sites=settings.min_sites, max_panels=settings.max_logos)
    try:
        save_figure(figure, folder / "filter_logos.png")
    finally:
        plt.close(figure)

    report = Report("seqsal filters: first-layer filters as motifs")
    report.add_paragraph(
        f"Each first-layer filter's sites are the windows whose activation reaches {settings.fraction:g} times the "
        "filter's largest activation over the input (windows inside the sequence and free of N only). Their "
        "bases give a position frequency matrix, drawn below as an information-content logo and compared with "
        f"the motif database by Tomtom (memelite). Filters with at least {settings.min_sites} sites are compared; "
        "q-values are Benjamini-Hochberg adjusted over each filter's comparisons with the whole database, and a "
        f"filter matches when its best q-value is below {settings.q_threshold:g}.")
    report.add_key_values({
        "filters": summary["n_filters"], "filters compared": summary["n_tested"],
        "filters matched": summary["n_matched"], "fraction of filters matched": summary["fraction_matched"],
        "fraction of compared filters matched": summary["fraction_of_tested_matched"],
        "motifs matched (filters)": ", ".join(f"{k} ({v})" for k, v in summary["motifs_matched"].items()) or "none",
        "sequences": pfms.n_sequences, "eligible windows": pfms.n_windows,
        "motif database": settings.motif_db or "bundled JASPAR CORE 2016 vertebrates",
    }, caption="Summary")
    matched = table[table["matched"] == "yes"].sort_values(["q_value", "filter"], kind="stable")
    report.add_heading("Matched filters")
    if len(matched):
        report.add_table(matched, caption="Filters whose best Tomtom match passes the q-value threshold, best first.")
    else:
        report.add_paragraph("No filter matches a database motif at this threshold.")
    report.add_heading("Filter logos")
    report.add_image(folder / "filter_logos.png",
                     caption=f"Information-content logos of up to {settings.max_logos} filters with at least "
                             f"{settings.min_sites} sites, matched filters first (best q-value first), then the most "
                             "informative; titled by filter index and best match.")
    report.add_heading("All filters")
    report.add_table(table, caption="Every filter; match columns are empty for filters with too few sites.",
                     max_rows=max(len(table), 1))
    report.write(folder / "report.html")

    io.write_json(folder / io.MANIFEST, {
        **manifest,
        "complete": True,
        "parameters": {"fraction": settings.fraction, "min_sites": settings.min_sites,
                       "q_threshold": settings.q_threshold, "pseudocount": settings.pseudocount,
                       "fit": settings.fit, "batch_size": settings.batch_size,
                       "q_value": "Benjamini-Hochberg over each filter's comparisons with the database",
                       "activation": "first block conv, batch norm and activation, before pooling"},
        "summary": summary,
        "files": {"table": "filters.tsv", "motifs": "filters.meme", "logos": "filter_logos.png",
                  "report": "report.html"},
    })
    return folder


def analyze_filters(
    fasta: str | os.PathLike,
    model: str | os.PathLike | EnhancerCNN,
    out: str | os.PathLike,
    settings: FilterSettings | None = None,
    *,
    device: str | torch.device | None = None,
) -> tuple[FilterPFMs, pd.DataFrame]:
    """FASTA in, filter analysis folder out: :func:`filter_pfms`, :func:`match_filters`, :func:`write_filter_report`.

    The FASTA is streamed (read once to check it, twice for the activations),
    so memory stays one batch wide.  Sequences must have the model's length
    unless ``settings.fit`` centre-crops or N-pads them.

    Returns
    -------
    (FilterPFMs, pandas.DataFrame)
        The PFMs and the table written to ``filters.tsv``.
    """
    from seqsal.datasets import encode_records
    from seqsal.explain.records import validate_fasta

    settings = settings or FilterSettings()
    fasta = Path(fasta)
    loaded = load_model(model)
    length = loaded.config.input_length
    first_layer(loaded)
    database = _database(settings.motif_db)
    validate_fasta(fasta, length, settings.fit)
    io.prepare_output_dir(out)  # refuse a foreign folder before the forward passes

    def batches() -> Iterable[np.ndarray]:
        for records in io.iter_batches(io.iter_records(fasta), settings.batch_size):
            yield encode_records(records, length, settings.fit)[0]

    pfms = filter_pfms(loaded, batches, settings.fraction, pseudocount=settings.pseudocount,
                       batch_size=settings.batch_size, device=device)
    table = match_filters(pfms, database, min_sites=settings.min_sites, q_threshold=settings.q_threshold)
    provenance = {
        "command": "seqsal " + " ".join(sys.argv[1:]) if Path(sys.argv[0]).name == "seqsal" else "",
        "input": {"path": str(fasta), "sha256": io.file_sha256(fasta)},
        "model": model_provenance(model, loaded),
        "motif_db": {"path": str(settings.motif_db), "sha256": io.file_sha256(settings.motif_db)}
        if settings.motif_db else {"path": "bundled", "source": database.source},
    }
    write_filter_report(out, pfms, table, settings, provenance)
    return pfms, table


__all__ = (
    "FilterPFMs", "FilterSettings", "FirstLayer", "analyze_filters", "filter_pfms", "first_layer",
    "match_filters", "meme_text", "plot_filter_logo", "plot_filter_logos", "summarize", "write_filter_report",
)
