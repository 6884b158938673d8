"""Training a model from files: read the data, split it, fit, score, save with its history.

:func:`~seqsal.train.fit` works on arrays; this is the whole job the
``seqsal train`` command (and a script) wants done from FASTA and label files,
with everything needed to reproduce the model recorded in the model file:
the settings, the command, the seed, the sizes, the metrics and the loss
history of every epoch.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from seqsal import __version__, datasets
from seqsal.errors import check
from seqsal.models import EnhancerCNN, ModelConfig, predict, save_model
from seqsal.runs import current_command
from seqsal.train import evaluate_predictions, fit, train_valid_split


@dataclass(frozen=True)
class TrainSettings:
    """Data, architecture and fitting options of one training run (``seqsal train --help`` explains each)."""

    fasta: str | None = None
    labels: str | None = None
    pos: str | None = None
    neg: str | None = None
    valid_fasta: str | None = None
    valid_fraction: float = 0.1
    test_fasta: str | None = None
    length: int | None = None
    fit: bool = False
    task: str = "auto"
    activation: str = "relu"
    head: str = "flatten"
    channels: tuple[int, ...] = (256, 60, 60, 120)
    kernels: tuple[int, ...] = (7, 3, 5, 3)
    dense: tuple[int, ...] = (256, 256)
    dropout: float = 0.4
    epochs: int = 30
    patience: int = 4
    lr: float = 1e-3
    weight_decay: float = 0.0
    augment_rc: bool = False
    batch_size: int = 128
    seed: int = 0


def train_model(
    settings: TrainSettings, out: str | Path, *, device: str | None = None, progress: bool = True
) -> tuple[EnhancerCNN, dict]:
    """Train an :class:`~seqsal.models.EnhancerCNN` as ``settings`` say and save it to ``out``.

    The data come either from ``fasta`` + ``labels`` or from ``pos`` + ``neg``
    (a FASTA, or ``"shuffle"`` for dinucleotide-shuffled positives).  The
    validation set is ``valid_fasta`` or a seeded ``valid_fraction`` of the
    training data; with ``test_fasta`` the test metrics go into the model
    file too.

    Returns
    -------
    (model, metadata)
        The trained model (best epoch's weights) and the metadata saved with it.
    """
    check(bool(settings.fasta) != bool(settings.pos),
          "give either fasta with labels, or pos with neg (a FASTA file or 'shuffle')")
    if settings.fasta:
        check(settings.labels, "fasta needs labels (a TSV with an 'id' column and target columns)")
        data = datasets.from_labels(settings.fasta, settings.labels, settings.length, settings.fit)
    else:
        check(settings.neg, "pos needs neg: a negative FASTA, or 'shuffle' for dinucleotide-shuffled positives")
        data = datasets.from_pos_neg(settings.pos, settings.neg, settings.length, settings.fit,
                                     random_state=settings.seed)
    task = settings.task
    if task == "auto":
        task = "classification" if np.isin(data.y, (0.0, 1.0)).all() else "regression"
    train_set, valid_set = _train_and_valid(data, settings)
    if settings.augment_rc:
        train_set = train_set.with_reverse_complements()
    config = ModelConfig(
        input_length=data.X.shape[-1], n_outputs=data.y.shape[1], conv_channels=settings.channels,
        kernel_sizes=settings.kernels, dense_units=settings.dense, activation=settings.activation,
        head=settings.head, dropout=settings.dropout, task=task, output_names=data.target_names,
    )
    torch.manual_seed(settings.seed)
    model = EnhancerCNN(config)
    started = time.time()
    result = fit(model, train_set.X, train_set.y, valid_set.X, valid_set.y, lr=settings.lr,
                 weight_decay=settings.weight_decay, batch_size=settings.batch_size, max_epochs=settings.epochs,
                 patience=settings.patience, random_state=settings.seed, device=device, progress=progress)
    metadata = {
        "trained_with": f"seqsal {__version__}",
        "command": current_command(),
        "settings": asdict(settings),
        "seed": settings.seed,
        "n_train": len(train_set.ids),
        "n_valid": len(valid_set.ids),
        "best_epoch": result.best_epoch,
        "best_valid_loss": result.best_valid_loss,
        "stopped_early": result.stopped_early,
        "train_seconds": round(time.time() - started, 1),
        "history": result.history,
        "valid_metrics": evaluate_predictions(valid_set.y, predict(model, valid_set.X), task),
    }
    if settings.test_fasta:
        check(settings.labels, "test_fasta needs labels that cover its ids")
        test_set = datasets.from_labels(settings.test_fasta, settings.labels, config.input_length, settings.fit)
        metadata["test_metrics"] = evaluate_predictions(test_set.y, predict(model, test_set.X), task)
        metadata["n_test"] = len(test_set.ids)
    save_model(model, out, metadata)
    return model, metadata


def _train_and_valid(data: datasets.LabelledSet, settings: TrainSettings):
    """The training and validation sets: ``valid_fasta`` if given, else a seeded held-out fraction."""
    if settings.valid_fasta:
        check(settings.labels, "valid_fasta needs labels that cover its ids")
        return data, datasets.from_labels(settings.valid_fasta, settings.labels, data.X.shape[-1], settings.fit)
    train_idx, valid_idx = train_valid_split(len(data.ids), settings.valid_fraction, random_state=settings.seed)
    return data.subset(train_idx), data.subset(valid_idx)
