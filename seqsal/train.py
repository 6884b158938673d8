"""Fitting an :class:`~seqsal.models.EnhancerCNN` with early stopping, and the metrics that judge it.

Training is deliberately plain (Adam, one loss chosen by the model's task,
early stopping on validation loss, best weights restored) so that
explanations are studied on a model trained the way DeepSTARR-style models
usually are, and so that the same seed reproduces the same weights.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import average_precision_score, roc_auc_score
from torch import nn

from seqsal.checks import check_int, check_number
from seqsal.errors import check
from seqsal.progress import Progress
from seqsal.models import as_input_tensor, resolve_device


@dataclass
class TrainResult:
    """What :func:`fit` did, epoch by epoch.

    Attributes
    ----------
    history
        One dict per epoch: ``epoch`` (1-based), ``train_loss`` (mean over the
        epoch's batches, with dropout active), ``valid_loss`` and the
        validation metrics of :func:`evaluate_predictions` prefixed with
        ``valid_`` (``valid_auroc``, ``valid_auprc`` or ``valid_mse``,
        ``valid_pearson``).
    best_epoch
        The 1-based epoch whose weights the model holds after :func:`fit`.
    best_valid_loss
        Validation loss at ``best_epoch``.
    stopped_early
        Whether training stopped before ``max_epochs`` for lack of improvement.
    """

    history: list[dict]
    best_epoch: int
    best_valid_loss: float
    stopped_early: bool


#: What :func:`fit` reads from ``model.config``; an :class:`~seqsal.models.ModelConfig` has all of it, and any
#: other model (a fully connected baseline, say) can carry a small config of its own with these fields.
TRAINING_CONFIG_FIELDS = ("task", "n_outputs", "output_names", "input_length")


def fit(
    model: nn.Module,
    X_train: np.ndarray | torch.Tensor,
    y_train: np.ndarray | torch.Tensor,
    X_valid: np.ndarray | torch.Tensor,
    y_valid: np.ndarray | torch.Tensor,
    *,
    lr: float = 1e-3,
    batch_size: int = 128,
    max_epochs: int = 30,
    patience: int = 4,
    weight_decay: float = 0.0,
    random_state: int = 0,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train ``model`` in place with Adam and early stopping on validation loss.

    The loss follows ``model.config.task``: ``BCEWithLogitsLoss`` for
    classification (the model outputs logits, as attribution expects) and
    ``MSELoss`` for regression.  After each epoch the validation loss is
    computed in eval mode; training stops once it has not improved for
    ``patience`` epochs, and the weights of the best epoch are restored, so the
    returned model is the one the reported metrics describe.

    Reproducibility: batches are shuffled by a ``torch.Generator`` seeded with
    ``random_state``, and dropout draws from the global torch RNG seeded with
    ``random_state`` inside :func:`torch.random.fork_rng`, so the caller's
    global RNG state is left as it was.  On the CPU, the same seed gives
    bit-identical weights.

    Parameters
    ----------
    model
        The model to train; modified in place, returned to its original device
        and left in eval mode.
    X_train, X_valid
        One-hot ``(N, 4, L)`` with ``L == model.config.input_length``.
    y_train, y_valid
        Targets ``(N,)`` or ``(N, T)``; labels in {0, 1} for classification.
        Each validation output needs both classes, or AUROC is undefined.
    lr, weight_decay
        Adam learning rate and L2 penalty.
    batch_size
        Training batch size (a last batch of one sequence is merged into the
        previous one, because batch norm cannot train on a single sample).
    max_epochs, patience
        Upper bound on epochs; epochs without validation improvement before stopping.
    random_state
        Seed for shuffling, weight-independent randomness and dropout.
    device
        Where to train; ``None`` means CUDA if available.
    progress
        Report each epoch (losses, validation metrics, time) on stderr: a bar on a terminal, a line per
        epoch in a log.

    Returns
    -------
    TrainResult
    """
    config = getattr(model, "config", None)
    check(
        isinstance(model, nn.Module) and all(hasattr(config, name) for name in TRAINING_CONFIG_FIELDS),
        f"fit needs a module whose .config gives {', '.join(TRAINING_CONFIG_FIELDS)} (an EnhancerCNN has a "
        f"ModelConfig), got {type(model).__name__}",
    )
    for name, value in (("batch_size", batch_size), ("max_epochs", max_epochs), ("patience", patience)):
        check_int(value, name, minimum=1)
    check_number(lr, "lr", minimum=0, include_minimum=False)
    check_number(weight_decay, "weight_decay", minimum=0)
    X_train = as_input_tensor(X_train, model, "X_train")
    X_valid = as_input_tensor(X_valid, model, "X_valid")
    y_train = _targets(y_train, X_train.shape[0], config, "y_train")
    y_valid = _targets(y_valid, X_valid.shape[0], config, "y_valid")
    check(X_train.shape[0] >= 2, "X_train has one sequence; batch norm needs at least two to train")
    if config.task == "classification":
        for column in range(y_valid.shape[1]):
            check(
                y_valid[:, column].unique().numel() == 2,
                f"y_valid output {config.output_names[column]!r} holds a single class, so AUROC is undefined; "
                "use a validation split with both classes (e.g. a stratified split)",
            )

    target = resolve_device(device)
    original_device = next(model.parameters()).device
    loss_fn: nn.Module = nn.BCEWithLogitsLoss() if config.task == "classification" else nn.MSELoss()
    history: list[dict] = []
    best_epoch, best_loss, stopped_early = 0, math.inf, False
    bar = Progress(max_epochs, "train", "epoch", enabled=progress)
    try:
        with torch.random.fork_rng(devices=[target] if target.type == "cuda" else []), bar:
            torch.manual_seed(random_state)
            generator = torch.Generator().manual_seed(random_state)
            model.to(target)
            best_state = _snapshot(model)
            optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
            for epoch in range(1, max_epochs + 1):
                started = time.monotonic()
                train_loss = _train_epoch(model, X_train, y_train, loss_fn, optimizer, batch_size, generator, target)
                check(
                    math.isfinite(train_loss),
                    f"training diverged at epoch {epoch} (loss {train_loss}); lower lr or use activation='relu'",
                )
                history.append({"epoch": epoch, "train_loss": train_loss,
                                **_validation(model, X_valid, y_valid, loss_fn, batch_size, target, config.task),
                                "seconds": round(time.monotonic() - started, 2)})
                valid_loss = history[-1]["valid_loss"]
                bar.note(_epoch_line(history[-1]))
                bar.update()
                if valid_loss < best_loss:
                    best_epoch, best_loss = epoch, valid_loss
                    best_state = _snapshot(model)
                elif epoch - best_epoch >= patience:
                    stopped_early = epoch < max_epochs
                    break
        model.load_state_dict(best_state)
    finally:
        model.to(original_device).eval()
    return TrainResult(history=history, best_epoch=best_epoch, best_valid_loss=best_loss, stopped_early=stopped_early)


def _validation(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module, batch_size: int,
                device: torch.device, task: str) -> dict[str, float]:
    """Validation loss and metrics (``valid_loss``, ``valid_auroc``, ...) of the model as it is now."""
    logits = _logits(model, X, batch_size, device)
    metrics = evaluate_predictions(y.numpy(), logits.numpy(), task)
    return {"valid_loss": float(loss_fn(logits, y)), **{f"valid_{key}": value for key, value in metrics.items()}}


def _epoch_line(record: dict) -> str:
    """``epoch 3: train_loss 0.41, valid_loss 0.44, valid_auroc 0.91 (12.3 s)``: one epoch for the log."""
    values = ", ".join(f"{key} {value:.4g}" for key, value in record.items()
                       if key not in ("epoch", "seconds") and isinstance(value, (int, float)))
    return f"epoch {record['epoch']}: {values} ({record['seconds']:.1f} s)"


def _targets(y: np.ndarray | torch.Tensor, n: int, config: Any, name: str) -> torch.Tensor:
    """Validate targets and return them as float32 ``(N, T)``."""
    check(isinstance(y, (np.ndarray, torch.Tensor)), f"{name} must be a numpy array or tensor, got {type(y).__name__}")
    y = torch.as_tensor(y).detach().to("cpu", torch.float32)
    if y.ndim == 1:
        y = y[:, None]
    check(
        y.ndim == 2 and y.shape[1] == config.n_outputs,
        f"{name} has shape {tuple(y.shape)} but the model has {config.n_outputs} output(s); pass (N,) or (N, T)",
    )
    check(y.shape[0] == n, f"{name} has {y.shape[0]} targets for {n} sequences; give one target per sequence")
    check(bool(torch.isfinite(y).all()), f"{name} contains NaN or infinite values; drop or fix those targets")
    if config.task == "classification":
        check(
            bool(((y == 0) | (y == 1)).all()),
            f"{name} holds values other than 0 and 1, but the model task is classification; "
            "binarise the labels or use task='regression'",
        )
    return y


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of the weights, so later optimizer steps cannot change it."""
    return {key: value.detach().clone() for key, value in model.state_dict().items()}


def _batches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Shuffled index batches; a trailing batch of one joins its neighbour (batch norm needs two)."""
    batches = list(torch.randperm(n, generator=generator).split(batch_size))
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches[-2:] = [torch.cat(batches[-2:])]
    return batches


def _train_epoch(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    batch_size: int,
    generator: torch.Generator,
    device: torch.device,
) -> float:
    """One pass over the shuffled training set; returns the sample-weighted mean loss."""
    model.train()
    total = 0.0
    for index in _batches(X.shape[0], batch_size, generator):
        optimizer.zero_grad()
        loss = loss_fn(model(X[index].to(device)), y[index].to(device))
        loss.backward()
        optimizer.step()
        total += loss.item() * len(index)
    return total / X.shape[0]


def _logits(model: nn.Module, X: torch.Tensor, batch_size: int, device: torch.device) -> torch.Tensor:
    """Eval-mode logits on the CPU, without moving the model the way :func:`~seqsal.models.predict` does."""
    model.eval()
    with torch.inference_mode():
        return torch.cat([model(X[i : i + batch_size].to(device)).float().cpu() for i in range(0, X.shape[0], batch_size)])


def evaluate_predictions(
    y_true: np.ndarray | torch.Tensor, logits: np.ndarray | torch.Tensor, task: str
) -> dict[str, float]:
    """Score logits against targets, averaging each metric over the outputs.

    Classification gives ``auroc`` and ``auprc``.  They are computed on the
    logits directly: both depend only on the ranking of the scores, which the
    sigmoid does not change.  Regression gives ``mse``, ``pearson`` and
    ``spearman`` (``nan`` for an output whose predictions are constant, as early in
    training, since the correlation is then undefined).

    Parameters
    ----------
    y_true
        Targets ``(N,)`` or ``(N, T)``.
    logits
        Model outputs of the same shape.
    task
        ``"classification"`` or ``"regression"``.

    Returns
    -------
    dict[str, float]

    Raises
    ------
    SeqsalError
        If shapes differ, values are not finite, or an output's labels hold a
        single class (AUROC is undefined) or its regression targets are constant.
    """
    check(task in ("classification", "regression"), f"task {task!r} is unknown; use 'classification' or 'regression'")
    y = np.asarray(y_true, dtype=np.float64)
    scores = np.asarray(logits, dtype=np.float64)
    y, scores = (y[:, None] if y.ndim == 1 else y), (scores[:, None] if scores.ndim == 1 else scores)
    check(
        y.ndim == 2 and y.shape == scores.shape,
        f"targets have shape {np.shape(y_true)} but logits have shape {np.shape(logits)}; they must match",
    )
    check(y.shape[0] > 0, "no targets to evaluate; pass at least one sequence")
    check(
        np.isfinite(scores).all(),
        "logits contain NaN or infinite values; the model diverged (lower the learning rate)",
    )
    check(np.isfinite(y).all(), "targets contain NaN or infinite values; drop or fix those targets")
    columns = range(y.shape[1])
    if task == "classification":
        for column in columns:
            check(
                np.unique(y[:, column]).size == 2,
                f"labels of output {column} hold a single class, so AUROC is undefined; "
                "evaluate on a set containing both positives and negatives",
            )
        return {
            "auroc": float(np.mean([roc_auc_score(y[:, c], scores[:, c]) for c in columns])),
            "auprc": float(np.mean([average_precision_score(y[:, c], scores[:, c]) for c in columns])),
        }
    for column in columns:
        check(
            np.ptp(y[:, column]) > 0,
            f"targets of output {column} are constant, so the Pearson correlation is undefined; "
            "evaluate on varied targets",
        )
    varied = [np.ptp(scores[:, c]) > 0 for c in columns]
    pearson = [pearsonr(y[:, c], scores[:, c])[0] if varied[c] else math.nan for c in columns]
    spearman = [spearmanr(y[:, c], scores[:, c])[0] if varied[c] else math.nan for c in columns]
    return {"mse": float(np.mean((y - scores) ** 2)), "pearson": float(np.mean(pearson)),
            "spearman": float(np.mean(spearman))}


def train_valid_split(
    n: int, valid_fraction: float = 0.1, random_state: int = 0, groups: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Random disjoint train and validation indices covering ``range(n)``, keeping ``groups`` whole.

    Each index array is sorted, so subsets keep the input order (and a FASTA
    file's order) while membership is random.  With ``groups``, whole groups
    are drawn in random order until they hold ``valid_fraction`` of the records:
    records that are the same element (both orientations of an MPRA insert,
    :func:`~seqsal.datasets.reverse_complement_groups`) then never sit on both
    sides, which would let the validation loss, and early stopping on it,
    reward memorising elements.

    Parameters
    ----------
    n
        Number of sequences.
    valid_fraction
        Share held out for validation, in (0, 1); at least one sequence (one group) goes to each side.
    random_state
        Seed; the same seed gives the same split.
    groups
        Optional ``(n,)`` group labels; records with the same label land on the same side.

    Returns
    -------
    train_idx, valid_idx : numpy.ndarray
        int64 index arrays.
    """
    check(isinstance(n, (int, np.integer)) and n >= 2, f"cannot split {n} sequences; need at least two")
    check(0 < valid_fraction < 1, f"valid_fraction must be between 0 and 1, got {valid_fraction}")
    n_valid = min(max(1, round(n * valid_fraction)), n - 1)
    rng = np.random.default_rng(random_state)
    if groups is None:
        order = rng.permutation(n)
        return np.sort(order[n_valid:]).astype(np.int64), np.sort(order[:n_valid]).astype(np.int64)
    groups = np.asarray(groups)
    check(groups.shape == (n,), f"groups has shape {groups.shape}; give one group label per sequence ({n})")
    labels, group_of = np.unique(groups, return_inverse=True)
    check(len(labels) >= 2, "all sequences are in one group, so no split keeps groups whole; give more groups")
    drawn = rng.permutation(len(labels))
    sizes = np.bincount(group_of)[drawn]
    before = np.cumsum(sizes) - sizes  # records in the groups drawn earlier
    in_valid = drawn[before < n_valid][: len(labels) - 1]
    valid = np.isin(group_of, in_valid)
    return np.flatnonzero(~valid).astype(np.int64), np.flatnonzero(valid).astype(np.int64)
