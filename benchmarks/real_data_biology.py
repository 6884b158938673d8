"""Known biology in the bundled real-data models, measured: the numbers in the README's model cards.

For the ``pu1`` model, on the held-out PU.1 peaks of ``data/pu1_heldout.fa``
(chr8/chr9, never trained or stopped on): per-sequence AUROC of corrected
grad × input and of ISM against SPI1 hits of a PWM scan at p < 1e-4 (mean ±
sd over the peaks that have a hit), and the share of those peaks whose
top-scoring position lies in a hit.  Run from the repository root::

    python benchmarks/real_data_biology.py
"""

from __future__ import annotations

import numpy as np
import torch

import seqsal
from seqsal.attribution import attribute, per_position
from seqsal.datasets import encode_records
from seqsal.evaluate.plausibility import motif_masks, plausibility


def known_motif_recovery(model_name: str, fasta: str, motif: str, pvalue: float = 1e-4) -> dict[str, float]:
    """Plausibility of corrected grad × input and ISM against ``motif`` scan hits, per sequence."""
    model = seqsal.load_model(model_name)
    X, _ = encode_records(seqsal.read_fasta(fasta))
    masks = motif_masks(X, motif, pvalue=pvalue)
    with_hit = masks.any(axis=1)
    result = {"sequences": len(X), "with_hit": int(with_hit.sum())}
    for method in ("grad_x_input", "ism"):
        scores = per_position(attribute(model, X, method=method, correct=True))
        auroc = plausibility(scores, masks).auroc[with_hit]
        top = scores[with_hit].argmax(axis=1)
        result[f"{method}_auroc_mean"] = float(np.nanmean(auroc))
        result[f"{method}_auroc_sd"] = float(np.nanstd(auroc))
        result[f"{method}_top_in_hit"] = float(masks[with_hit][np.arange(len(top)), top].mean())
    return result


if __name__ == "__main__":
    torch.set_num_threads(1)
    for key, value in known_motif_recovery("pu1", "data/pu1_heldout.fa", "SPI1").items():
        print(f"{key}\t{value:.3f}" if isinstance(value, float) else f"{key}\t{value}")
