"""The model-randomization sanity check (Adebayo et al., NeurIPS 2018): does the map depend on the weights?

Re-initialising the model's layers from the output down must change the
explanation; a map that survives a randomized model describes the input (e.g.
edge detection) rather than the model.
"""

from __future__ import annotations

import copy
from typing import Sequence

import numpy as np
import pandas as pd
import torch
from scipy.stats import rankdata
from torch import nn

from seqsal.attribution import attribute, per_position
from seqsal.attribution.base import as_onehot_array
from seqsal.errors import check

def randomization_check(
    model: nn.Module,
    X: np.ndarray | torch.Tensor,
    method: str = "grad_x_input",
    *,
    target: int | str = 0,
    output: str = "logit",
    correct: bool = False,
    layers: Sequence[str] | None = None,
    random_state: int = 0,
    batch_size: int = 128,
    device: str | torch.device | None = None,
    method_options: dict | None = None,
) -> pd.DataFrame:
    """Cascading model randomization (Adebayo et al. 2018): does the explanation depend on the weights?

    Layers are re-initialised one after another, from the output down, each
    step keeping the earlier re-initialisations (a cascade).  After every step
    the per-position scores are recomputed and compared with the original
    model's by Spearman rank correlation, per sequence.  A faithful method's
    correlation should drop towards 0 as soon as the top layers are
    randomized; one that stays high explains the input, not the model.

    Re-initialisation uses each layer's own ``reset_parameters`` (PyTorch's
    default initialiser; batch norm also forgets its running statistics), on
    the CPU and under a seed derived from ``random_state``, so results do not
    depend on the device and the global torch RNG is left untouched.  The work
    is done on a deep copy: the caller's model is never modified.

    Parameters
    ----------
    model
        Maps ``(N, 4, L)`` to logits ``(N, T)``.
    X
        One-hot sequences ``(N, 4, L)``.
    method, target, output, correct
        As for :func:`seqsal.attribution.attribute`.
    layers
        Names from ``model.named_modules()`` in the order to randomize them.
        By default every module that holds parameters itself (convolutions,
        linear and batch-norm layers), in reverse registration order, which
        for :class:`~seqsal.models.EnhancerCNN` runs from the output layer down
        to the first convolution.
    random_state
        Seed of the re-initialisations.
    batch_size, device
        As for :func:`seqsal.attribution.attribute`.
    method_options
        Method-specific options passed to :func:`seqsal.attribution.attribute`
        (e.g. IG ``steps``), so the check explains the way the run did.

    Returns
    -------
    pandas.DataFrame
        One row per step: ``step`` (0 = the intact model, whose correlation is
        1 by construction), ``layer`` (the layer re-initialised at this step,
        ``"none"`` at step 0), ``spearman_mean``, ``spearman_sd`` (signed
        scores), ``spearman_abs_mean``, ``spearman_abs_sd`` (absolute scores,
        as Adebayo et al. also report, because a sign flip alone makes the
        signed correlation negative) and ``n_sequences`` (sequences whose
        correlation is defined: a constant score row has none).  The sd is the
        sample sd (``ddof=1``).
    """
    onehot = as_onehot_array(X)
    randomized = copy.deepcopy(model).cpu()
    names = _cascade(randomized, layers)
    modules = dict(randomized.named_modules())
    seeds = np.random.SeedSequence(random_state).generate_state(len(names), dtype=np.uint64)

    def explain() -> np.ndarray:
        projected = attribute(randomized, onehot, method, target, output=output, correct=correct,
                              batch_size=batch_size, device=device, **(method_options or {}))
        return per_position(projected).astype(np.float64)

    original = explain()
    rows = [_correlation_row(0, "none", original, original)]
    for step, (name, seed) in enumerate(zip(names, seeds), start=1):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            modules[name].reset_parameters()
        rows.append(_correlation_row(step, name, original, explain()))
    return pd.DataFrame(rows)


def _cascade(model: nn.Module, layers: Sequence[str] | None) -> list[str]:
    """The layer names to randomize, in order, each checked to exist and to be re-initialisable."""
    modules = dict(model.named_modules())
    if layers is None:
        names = [name for name, module in modules.items() if next(module.parameters(recurse=False), None) is not None]
        names.reverse()
    else:
        names = [layers] if isinstance(layers, str) else list(layers)
    check(names, "there are no layers to randomize; the model has no parameters or layers= is empty")
    for name in names:
        check(
            name in modules,
            f"the model has no layer named {name!r}; pass names from model.named_modules(), e.g. "
            f"{', '.join(n for n in list(modules)[1:4])}",
        )
        check(
            callable(getattr(modules[name], "reset_parameters", None)),
            f"layer {name!r} ({type(modules[name]).__name__}) has no reset_parameters method, so it cannot be "
            "re-initialised; leave it out with layers=",
        )
    return names


def _correlation_row(step: int, layer: str, original: np.ndarray, randomized: np.ndarray) -> dict[str, object]:
    signed = _spearman_rows(original, randomized)
    absolute = _spearman_rows(np.abs(original), np.abs(randomized))
    return {
        "step": step,
        "layer": layer,
        "spearman_mean": _nanmean(signed),
        "spearman_sd": _nansd(signed),
        "spearman_abs_mean": _nanmean(absolute),
        "spearman_abs_sd": _nansd(absolute),
        "n_sequences": int(np.isfinite(signed).sum()),
    }


def _spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman correlation of each row of ``a`` with the same row of ``b`` (average ranks for ties)."""
    ranks_a = rankdata(a, axis=1)
    ranks_b = rankdata(b, axis=1)
    ranks_a -= ranks_a.mean(axis=1, keepdims=True)
    ranks_b -= ranks_b.mean(axis=1, keepdims=True)
    # sqrt of the product (not a product of norms) makes identical rows give exactly 1.
    denominator = np.sqrt((ranks_a**2).sum(axis=1) * (ranks_b**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ranks_a * ranks_b).sum(axis=1) / denominator


def _nanmean(values: np.ndarray) -> float:
    kept = values[np.isfinite(values)]
    return float(kept.mean()) if kept.size else float("nan")


def _nansd(values: np.ndarray) -> float:
    kept = values[np.isfinite(values)]
    return float(kept.std(ddof=1)) if kept.size > 1 else float("nan")
