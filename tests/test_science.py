"""Slow scientific checks on the bundled model (marked slow; CI runs them)."""

import importlib.resources
from pathlib import Path

import numpy as np
import pytest

import seqsal
from seqsal.attribution import per_position
from seqsal.evaluate.metrics import plausibility
from seqsal.simulate import simulate_enhancers

pytestmark = pytest.mark.slow


def test_corrected_grad_x_input_finds_planted_motifs_with_the_bundled_model():
    """Held-out synthetic positives (a seed the model never saw): motif positions rank above background."""
    model = seqsal.load_model("default")
    held_out = simulate_enhancers(600, 249, random_state=2026)
    positives = held_out.labels == 1
    X = seqsal.one_hot([s for s, keep in zip(held_out.sequences, positives) if keep])
    scores = per_position(seqsal.attribute(model, X, "grad_x_input", correct=True, batch_size=64))
    result = plausibility(scores, held_out.masks[positives])
    print(f"\nplausibility of corrected grad_x_input on {result.n_scored} held-out positives: "
          f"AUROC {np.nanmean(result.auroc):.3f} ± {np.nanstd(result.auroc, ddof=1):.3f}")
    assert np.nanmean(result.auroc) >= 0.85


def test_bundled_model_separates_held_out_synthetic_enhancers():
    """AUROC measured now, on the bundled demo set (simulated with another seed than the training data)."""
    from sklearn.metrics import roc_auc_score

    from seqsal import io
    from seqsal.datasets import from_labels

    demo = Path(str(importlib.resources.files("seqsal.data") / "synthetic_demo"))
    model = seqsal.load_model("default")
    data = [from_labels(demo / f"{split}.fa", demo / "labels.tsv") for split in ("train", "valid", "test")]
    X, y = np.concatenate([d.X for d in data]), np.concatenate([d.y for d in data])[:, 0]
    auroc = roc_auc_score(y, seqsal.predict(model, X)[:, 0])
    assert auroc > 0.95 and len(y) >= 250 and io.read_labels(demo / "labels.tsv")["label"].nunique() == 2
    assert "seqsal train" in model.metadata["command"]
