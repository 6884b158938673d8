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
    table: str | None = None
    sequence_column: str = "seq"
    target_columns: tuple[str, ...] = ()
    valid_fasta: str | None = None
    valid_table: str | None = None
    valid_chroms: tuple[str, ...] = ()
    valid_fraction: float = 0.1
    group_reverse_complements: bool = False
    test_fasta: str | None = None
    test_table: str | None = None
    test_chroms: tuple[str, ...] = ()
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
    rc_keep_flanks: bool = False
    batch_size: int = 128
    seed: int = 0
    description: str | None = None


def train_model(
    settings: TrainSettings, out: str | Path, *, device: str | None = None, progress: bool = True
) -> tuple[EnhancerCNN, dict]:
    """Train an :class:`~seqsal.models.EnhancerCNN` as ``settings`` say and save it to ``out``.

    The data come from ``fasta`` + ``labels``, from ``pos`` + ``neg`` (a
    FASTA, or ``"shuffle"`` for dinucleotide-shuffled positives) or from a
    ``table`` (``sequence_column`` and ``target_columns``).  Records on
    ``test_chroms`` (read from the headers) are set aside before anything
    else, so they are never trained or stopped on; the validation set is
    ``valid_chroms``, ``valid_fasta``/``valid_table`` or a seeded
    ``valid_fraction`` of the rest (with ``group_reverse_complements``, records
    whose variable parts are reverse complements of each other stay on one
    side: :func:`~seqsal.datasets.reverse_complement_groups`).  Test metrics (``test_chroms``,
    ``test_fasta`` or ``test_table``) go into the model file.

    Returns
    -------
    (model, metadata)
        The trained model (best epoch's weights) and the metadata saved with it.
    """
    data = _read_data(settings)
    task = settings.task
    if task == "auto":
        task = "classification" if np.isin(data.y, (0.0, 1.0)).all() else "regression"
    test_set = None
    if settings.test_chroms:
        check(not (settings.test_fasta or settings.test_table), "give test_chroms or a test file, not both")
        on_test = data.on_chromosomes(settings.test_chroms, "test_chroms")
        data, test_set = data.subset(~on_test), data.subset(on_test)
    train_set, valid_set = _train_and_valid(data, settings)
    as_given = train_set
    check(settings.augment_rc or not settings.rc_keep_flanks, "rc_keep_flanks only changes augment_rc; set both")
    if settings.augment_rc:
        train_set = train_set.with_reverse_complements(keep_flanks=settings.rc_keep_flanks)
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
        "description": settings.description,
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
    if test_set is None:
        test_set = _other_set(settings, "test", config.input_length)
    if test_set is not None:
        metadata["test_metrics"] = evaluate_predictions(test_set.y, predict(model, test_set.X), task)
        metadata["n_test"] = len(test_set.ids)
        if task == "regression":
            metadata["baseline_test_metrics"] = kmer_ridge_baseline(as_given, test_set, KMER_BASELINE_MAX_K)
    save_model(model, out, metadata)
    return model, metadata


#: Longest k-mer of the ridge baseline recorded with a regression model: 4^6 = 4,096 features still fit a
#: few thousand sequences with a cross-validated penalty, and 6 bp covers the core of most TF motifs.
KMER_BASELINE_MAX_K = 6


def kmer_ridge_baseline(train_set: datasets.LabelledSet, test_set: datasets.LabelledSet,
                        max_k: int = KMER_BASELINE_MAX_K) -> dict[str, float]:
    """Test metrics of a ridge regression on 1- to ``max_k``-mer counts, trained on the model's training set.

    A CNN earns its place only by beating this position-blind model on the
    same split.  The penalty is chosen by scikit-learn's efficient
    leave-one-out ``RidgeCV`` on the training set alone (features standardised).
    :func:`train_model` fits it on the training sequences as given, without
    reverse-complement copies: with fewer rows than the 5,460 features the
    leave-one-out solve works on the rows' Gram matrix, several times faster.
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def features(data: datasets.LabelledSet) -> np.ndarray:
        return np.hstack([datasets.kmer_counts(data.X, k) for k in range(1, max_k + 1)])

    model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(0, 5, 11)))
    model.fit(features(train_set), train_set.y)
    predicted = model.predict(features(test_set)).reshape(test_set.y.shape)
    return {**evaluate_predictions(test_set.y, predicted, "regression"), "model": f"ridge on 1- to {max_k}-mer counts"}


def _read_data(settings: TrainSettings) -> datasets.LabelledSet:
    """The training data the settings name: fasta + labels, pos + neg, or a table."""
    check([bool(settings.fasta), bool(settings.pos), bool(settings.table)].count(True) == 1,
          "give one data source: fasta with labels, pos with neg (a FASTA file or 'shuffle'), or a table")
    if settings.table:
        return datasets.from_table(settings.table, settings.sequence_column, settings.target_columns,
                                   settings.length, settings.fit)
    if settings.fasta:
        check(settings.labels, "fasta needs labels (a TSV with an 'id' column and target columns)")
        return datasets.from_labels(settings.fasta, settings.labels, settings.length, settings.fit)
    check(settings.neg, "pos needs neg: a negative FASTA, or 'shuffle' for dinucleotide-shuffled positives")
    return datasets.from_pos_neg(settings.pos, settings.neg, settings.length, settings.fit, random_state=settings.seed)


def _other_set(settings: TrainSettings, role: str, length: int) -> datasets.LabelledSet | None:
    """The validation or test set from its own file (``valid_fasta``/``valid_table``, ...), or ``None``."""
    fasta, table = getattr(settings, f"{role}_fasta"), getattr(settings, f"{role}_table")
    check(not (fasta and table), f"give either {role}_fasta or {role}_table, not both")
    if table:
        return datasets.from_table(table, settings.sequence_column, settings.target_columns, length, settings.fit)
    if fasta:
        check(settings.labels, f"{role}_fasta needs labels that cover its ids")
        return datasets.from_labels(fasta, settings.labels, length, settings.fit)
    return None


def _train_and_valid(data: datasets.LabelledSet, settings: TrainSettings):
    """The training and validation sets: ``valid_chroms``, a validation file, else a seeded held-out fraction.

    The fraction is drawn by element (both orientations together) when ``group_reverse_complements`` is set.
    """
    if settings.valid_chroms:
        check(not set(settings.valid_chroms) & set(settings.test_chroms),
              "valid_chroms and test_chroms share a chromosome; keep them apart")
        on_valid = data.on_chromosomes(settings.valid_chroms, "valid_chroms")
        return data.subset(~on_valid), data.subset(on_valid)
    valid_set = _other_set(settings, "valid", data.X.shape[-1])
    if valid_set is not None:
        check(not settings.group_reverse_complements,
              "group_reverse_complements groups the valid_fraction split; a validation file is split already")
        return data, valid_set
    groups = datasets.reverse_complement_groups(data.X) if settings.group_reverse_complements else None
    train_idx, valid_idx = train_valid_split(len(data.ids), settings.valid_fraction, random_state=settings.seed,
                                             groups=groups)
    return data.subset(train_idx), data.subset(valid_idx)
