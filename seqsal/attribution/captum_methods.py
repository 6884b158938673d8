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
from seqsal.errors import check


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
    tfmodisco-lite expects.  ``correct`` mean-centres the multipliers.
    """
    attr = _captum()
    references = ig_baselines(X, "shuffle", n_references, random_state, offset)
    hypothetical = np.empty_like(X)
    with frozen_model(model, device), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Setting forward, backward hooks")
        explainer = attr.DeepLiftShap(_Explained(model, output))
        for i in range(len(X)):
            x = torch.from_numpy(X[i : i + 1]).to(device).requires_grad_(True)
            refs = torch.from_numpy(references[i]).to(device)
            scores = explainer.attribute(x, baselines=refs, target=target,
                                         custom_attribution_func=_centred if correct else
                                         _hypothetical_from_multipliers)
            hypothetical[i] = scores.detach().cpu().numpy()[0]
    return hypothetical


def window_features(length: int, window: int) -> torch.Tensor:
    """Feature ids ``(1, 4, L)``: position l belongs to feature ``l // window`` on all four rows."""
    check(window > 0, f"window must be positive, got {window}")
    ids = torch.arange(length) // window
    return ids.expand(4, length)[None].clone()


def _sequence_seed(random_state: int, index: int) -> int:
    """A torch seed for sequence ``index``: independent streams for every (random_state, index) pair,
    the same way :func:`numpy.random.default_rng` seeds from ``[random_state, index]``."""
    return int(np.random.SeedSequence([random_state, index]).generate_state(1, np.uint64)[0])


def _sampled(kind: str, model, X, *, target, output, device, n_samples, window, random_state, offset):
    attr = _captum()
    mask = window_features(X.shape[-1], window).to(device)
    references = ig_baselines(X, "shuffle", 1, random_state, offset)[:, 0]
    scores = np.empty_like(X)
    with frozen_model(model, device), torch.no_grad(), torch.random.fork_rng(devices=[]):
        explainer = getattr(attr, kind)(_Explained(model, output))
        for i in range(len(X)):
            torch.manual_seed(_sequence_seed(random_state, offset + i))
            x = torch.from_numpy(X[i : i + 1]).to(device)
            baseline = torch.from_numpy(references[i : i + 1]).to(device)
            weights = explainer.attribute(x, baselines=baseline, target=target, feature_mask=mask,
                                          n_samples=n_samples, perturbations_per_eval=64)
            scores[i] = weights.cpu().numpy()[0]
    return scores


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
    random_state: int = 0,
    offset: int = 0,
) -> np.ndarray:
    """LIME (Ribeiro et al. 2016) over contiguous windows; absent windows take shuffled sequence.

    Every position of a window carries that window's weight on all four rows.
    ``correct`` has no effect.
    """
    return _sampled("Lime", model, X, target=target, output=output, device=device, n_samples=n_samples,
                    window=window, random_state=random_state, offset=offset)


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
