"""DeepLIFT-SHAP, LIME and KernelSHAP, delegated to Captum (the optional extra ``seqsal[captum]``).

seqsal supplies what makes these methods fit DNA: dinucleotide-shuffled
references (a reference should look like a sequence, not like nothing) and
contiguous windows as LIME/KernelSHAP features (single bases are too many
features for a few hundred model evaluations, and motifs are contiguous).

How they fail: DeepLIFT's rescale rule is defined for ReLU-type
nonlinearities; Captum treats the exponential activation linearly (plain
gradient), so on ``--activation exp`` models its contributions are only
approximate.  LIME and KernelSHAP are sampling estimates: with few samples
the window weights are noisy, and their resolution is the window size.
"""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import torch
from torch import nn

from seqsal.attribution.base import frozen_model
from seqsal.attribution.gradients import ig_baselines
from seqsal.errors import SeqsalWarning, check

#: Largest DeepLIFT-SHAP convergence delta, relative to the output difference it should sum to, that passes silently.
DELTA_TOLERANCE = 1e-3


def _captum():
    check(importlib.util.find_spec("captum") is not None,
          "this method needs Captum; install the extra with: pip install 'seqsal[captum]'")
    import captum.attr

    return captum.attr


class _Explained(nn.Module):
    """The model's logits, or their sigmoid as a module Captum's DeepLIFT knows how to treat."""

    def __init__(self, model: nn.Module, output: str) -> None:
        super().__init__()
        self.model = model
        self.sigmoid = nn.Sigmoid() if output == "probability" else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.model(x)
        return self.sigmoid(logits) if self.sigmoid is not None else logits


def _hypothetical_from_multipliers(multipliers, inputs, baselines):
    """Captum hook: turn DeepLIFT multipliers into hypothetical contributions.

    For a possible base b at a position, the contribution is
    ``m_b − Σ_b' ref_b' m_b'`` (the one-hot of b minus the reference, times the
    multipliers), so projecting onto the actual sequence gives DeepLIFT's own
    per-position contribution.
    """
    (m,), (ref,) = multipliers, baselines
    return (m - (ref * m).sum(dim=1, keepdim=True),)


def _centred(multipliers, inputs, baselines):
    """As :func:`_hypothetical_from_multipliers`, after the gradient correction of the multipliers."""
    (m,) = multipliers
    return _hypothetical_from_multipliers((m - m.mean(dim=1, keepdim=True),), inputs, baselines)


def deeplift_shap(
    model: nn.Module,
    X: np.ndarray,
    *,
    target: int,
    output: str,
    correct: bool,
    batch_size: int,
    device: torch.device,
    n_references: int = 10,
    random_state: int = 0,
    offset: int = 0,
) -> np.ndarray:
    """DeepLIFT-SHAP (Lundberg & Lee 2017) averaged over dinucleotide-shuffled references.

    Each sequence gets its own ``n_references`` shuffles (seeded per sequence),
    and the hypothetical contributions are averaged over them, as
    tfmodisco-lite expects.  ``correct`` mean-centres the multipliers, which changes nothing here: against
    one-hot references the hypothetical contribution ``m - sum(ref * m)`` is the same for ``m - mean(m)``.

    DeepLIFT's contributions should sum to the output difference between the
    sequence and its references; where they do not (non-ReLU activations,
    unsupported layers, an exp first layer), :func:`convergence_deltas` says
    by how much, and a :class:`~seqsal.errors.SeqsalWarning` is issued when
    any sequence misses by more than :data:`DELTA_TOLERANCE` relatively.
    """
    attr = _captum()
    references = ig_baselines(X, "shuffle", n_references, random_state, offset)
    hypothetical = np.empty_like(X)
    explained = _Explained(model, output)
    with frozen_model(model, device), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Setting forward, backward hooks")
        explainer = attr.DeepLiftShap(explained)
        for i in range(len(X)):
            x = torch.from_numpy(X[i : i + 1]).to(device).requires_grad_(True)
            refs = torch.from_numpy(references[i]).to(device)
            scores = explainer.attribute(x, baselines=refs, target=target,
                                         custom_attribution_func=_centred if correct else
                                         _hypothetical_from_multipliers)
            hypothetical[i] = scores.detach().cpu().numpy()[0]
        deltas = convergence_deltas(explained, X, hypothetical, references, target, device)
    _warn_on_deltas(deltas, correct)
    return hypothetical


def convergence_deltas(
    explained: nn.Module, X: np.ndarray, hypothetical: np.ndarray, references: np.ndarray, target: int,
    device: torch.device,
) -> np.ndarray:
    """Per sequence: summed DeepLIFT-SHAP contributions minus ``f(x) − mean_r f(ref_r)``, and that difference.

    Returns ``(N, 2)``: column 0 the delta, column 1 the output difference it
    is measured against.  Exact DeepLIFT gives a delta of 0 up to rounding.
    """
    with torch.no_grad():
        outputs = explained(torch.from_numpy(X).to(device))[:, target].double().cpu().numpy()
        flat = references.reshape(-1, *X.shape[1:])
        reference_outputs = explained(torch.from_numpy(flat).to(device))[:, target].double().cpu().numpy()
    expected = outputs - reference_outputs.reshape(len(X), -1).mean(axis=1)
    summed = (hypothetical.astype(np.float64) * X).sum(axis=(1, 2))
    return np.stack([summed - expected, expected], axis=1)


def _warn_on_deltas(deltas: np.ndarray, correct: bool) -> None:
    """Warn when contributions fail to sum to the output difference (the most reported DeepLIFT failure)."""
    scale = np.maximum(np.abs(deltas[:, 1]), 1e-6)
    relative = np.abs(deltas[:, 0]) / scale
    bad = int((relative > DELTA_TOLERANCE).sum())
    if bad and not correct:
        warnings.warn(
            f"deeplift_shap: contributions of {bad} of {len(deltas)} sequences do not sum to the output difference "
            f"(largest relative convergence delta {relative.max():.3g}); the model has layers DeepLIFT's rules do "
            "not cover exactly (e.g. an exponential activation), so read these maps as approximate",
            SeqsalWarning, stacklevel=3)


def window_features(length: int, window: int) -> torch.Tensor:
    """Feature ids ``(1, 4, L)``: position l belongs to feature ``l // window`` on all four rows."""
    check(window > 0, f"window must be positive, got {window}")
    ids = torch.arange(length) // window
    return ids.expand(4, length)[None].clone()


def _sequence_seed(random_state: int, index: int) -> int:
    """A torch seed for sequence ``index``: independent streams for every (random_state, index) pair,
    the same way :func:`numpy.random.default_rng` seeds from ``[random_state, index]``."""
    return int(np.random.SeedSequence([random_state, index]).generate_state(1, np.uint64)[0])


def _sampled(kind: str, model, X, *, target, output, device, n_samples, window, random_state, offset,
             alpha=None):
    attr = _captum()
    mask = window_features(X.shape[-1], window).to(device)
    references = ig_baselines(X, "shuffle", 1, random_state, offset)[:, 0]
    scores = np.empty_like(X)
    with frozen_model(model, device), torch.no_grad(), torch.random.fork_rng(devices=[]):
        explainer = (attr.Lime(_Explained(model, output), interpretable_model=_lime_model(alpha))
                     if kind == "Lime" else attr.KernelShap(_Explained(model, output)))
        for i in range(len(X)):
            torch.manual_seed(_sequence_seed(random_state, offset + i))
            x = torch.from_numpy(X[i : i + 1]).to(device)
            baseline = torch.from_numpy(references[i : i + 1]).to(device)
            weights = explainer.attribute(x, baselines=baseline, target=target, feature_mask=mask,
                                          n_samples=n_samples, perturbations_per_eval=64)
            scores[i] = weights.cpu().numpy()[0]
    _warn_on_zero_maps(kind, scores, n_samples, window, alpha)
    return scores


def _lime_model(alpha: float):
    """LIME's surrogate: a Lasso with penalty ``alpha``, or least squares for ``alpha == 0``."""
    from captum._utils.models.linear_model import SkLearnLasso, SkLearnLinearRegression

    check(alpha >= 0, f"alpha must be non-negative, got {alpha}")
    return SkLearnLasso(alpha=alpha) if alpha > 0 else SkLearnLinearRegression()


def _warn_on_zero_maps(kind: str, scores: np.ndarray, n_samples: int, window: int, alpha: float | None) -> None:
    """Say so when a sampling method returned nothing at all for some sequences, and what to change."""
    empty = int((np.abs(scores).reshape(len(scores), -1).max(axis=1) == 0).sum())
    if not empty:
        return
    advice = (f"lower alpha (now {alpha:g}; 0 fits least squares), " if alpha else "") + \
        f"raise n_samples (now {n_samples}) or widen window (now {window})"
    warnings.warn(f"{kind.lower().replace('kernelshap', 'kernel_shap')}: every attribution of {empty} of "
                  f"{len(scores)} sequences is zero; {advice}", SeqsalWarning, stacklevel=3)


def lime(
    model: nn.Module,
    X: np.ndarray,
    *,
    target: int,
    output: str,
    correct: bool,
    batch_size: int,
    device: torch.device,
    n_samples: int = 200,
    window: int = 10,
    alpha: float = 0.01,
    random_state: int = 0,
    offset: int = 0,
) -> np.ndarray:
    """LIME (Ribeiro et al. 2016) over contiguous windows; absent windows take shuffled sequence.

    Every position of a window carries that window's weight on all four rows.
    The surrogate is Captum's default Lasso with penalty ``alpha``; on a model
    whose outputs move little it can shrink every weight to zero (a warning
    says so), and ``alpha=0`` fits least squares instead.  ``correct`` has no
    effect.
    """
    return _sampled("Lime", model, X, target=target, output=output, device=device, n_samples=n_samples,
                    window=window, random_state=random_state, offset=offset, alpha=alpha)


def kernel_shap(
    model: nn.Module,
    X: np.ndarray,
    *,
    target: int,
    output: str,
    correct: bool,
    batch_size: int,
    device: torch.device,
    n_samples: int = 200,
    window: int = 10,
    random_state: int = 0,
    offset: int = 0,
) -> np.ndarray:
    """KernelSHAP (Lundberg & Lee 2017) over contiguous windows against a shuffled reference.

    Every position of a window carries that window's Shapley value on all four
    rows.  ``correct`` has no effect.
    """
    return _sampled("KernelShap", model, X, target=target, output=output, device=device,
                    n_samples=n_samples, window=window, random_state=random_state, offset=offset)
