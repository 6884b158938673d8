"""Class model visualisation for DNA: optimise a sequence until the model calls it a strong positive.

Simonyan, Vedaldi & Zisserman (2014) visualise what a classifier has learnt
by gradient ascent on its *input*: start from noise and follow the gradient of
one class score ``S_c(x)``, with an L2 penalty that keeps the input from
escaping to extreme values.  For a DNA model the result answers "what sequence
does the model think is the best enhancer?"; if the model learnt biology, that
sequence is packed with the motifs it relies on, which a motif scan can name.

Why the problem needs more than plain gradient ascent
    A DNA model is defined on one-hot columns, a discrete set, so the input
    cannot move along the gradient directly.  Each sequence is therefore
    parameterised by free logits ``θ`` of shape ``(4, L)``, and the model reads
    a one-hot-like matrix built from them:

    * ``"softmax"`` relaxation: the model reads ``softmax(θ / τ)`` (over the
      four bases of each position).  Smooth, but the model is then evaluated
      on blends of bases it never saw in training, and may reward a blend
      more than any real sequence.
    * ``"straight_through"`` estimator (default; Bengio et al. 2013): the model
      reads the exact one-hot ``argmax(θ)``, while the backward pass uses the
      gradient of the softmax, as if the relaxation had been used.  The model is
      only ever evaluated on valid sequences, so every score on the way is a
      real prediction; the price is a biased gradient, which can overshoot.

The L2 penalty, and what it is applied to
    The objective per sequence is ``S(x) − λ‖θ‖²``.  Simonyan et al. penalise
    the image itself.  Here that would be meaningless (under the
    straight-through estimator every input is one-hot, so ``‖x‖² = L`` is a
    constant) or harmful (under the relaxation, ``‖softmax‖²`` is largest for
    one-hot columns, so penalising it pushes towards ambiguous, uniform
    columns).  The penalty is therefore applied to the logits ``θ``: it plays
    the same role of stopping the parameters from running off to infinity.
    Unbounded logits saturate the softmax, whose gradient ``p(1 − p)`` then
    vanishes and freezes the sequence after a few steps; with the penalty,
    positions the model ignores decay back towards zero, where the next
    gradient can still change their base.

Bookkeeping
    All seeds are optimised in one batch; Adam's update is element-wise and the
    model runs in eval mode (batch norm uses its running statistics), so each
    seed follows exactly the trajectory it would follow alone.  The straight-
    through gradient is biased, so a later iterate can be worse than an earlier
    one: every iterate's argmax one-hot is scored by the real model and the
    best one per seed is kept, not the last.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator
from scipy.special import expit
from torch import nn
from tqdm import tqdm

from seqsal import io
from seqsal.attribution import attribute
from seqsal.attribution.base import frozen_model, resolve_target
from seqsal.datasets import encode_records
from seqsal.encoding import ALPHABET, decode
from seqsal.errors import check
from seqsal.models import EnhancerCNN, load_model, model_provenance, predict, resolve_device
from seqsal.motifs import Motif, MotifDatabase, MotifHit, hits_to_frame, scan
from seqsal.plot import plot_attribution, save_figure
from seqsal.report import Report
from seqsal.simulate import DEFAULT_ENHANCER_MOTIFS

MODES = ("straight_through", "softmax")
DEFAULT_L2 = {"straight_through": 0.01, "softmax": 0.001}
"""Penalty weight per mode when none is given, measured on the bundled model (8 seeds, 200 steps).

Straight-through: median best logit 47 without the penalty, 54 with 0.001, 55 with 0.01.  The softmax
relaxation needs a weaker penalty: the model only rewards the argmax sequence once the relaxation is close to
one-hot, and the penalty holds the logits back from that; with 0.01 no seed got past a logit of 3 (the
training positives' 99th percentile is 11.5), with 0.001 every seed reached 55 to 64.
"""
REFERENCE_PERCENTILE = 99.0
"""The reference percentile a dreamed sequence should beat to count as a stronger positive than nearly all real ones."""


@dataclass
class DreamResult:
    """The best sequence found from each seed, with its scores and optimisation trace.

    Attributes
    ----------
    onehot
        float32 ``(n_seeds, 4, L)``: the best iterate of each seed (exact one-hot).
    logits
        float32 ``(n_seeds, T)``: every output of the model for those sequences,
        from :func:`seqsal.models.predict`.
    target
        Index of the optimised output.
    probability
        ``(n_seeds,)`` sigmoid of the target logit for a classification model,
        ``None`` for regression.
    trace
        float32 ``(n_seeds, steps + 1)``: the target logit of each iterate's
        argmax one-hot; column 0 is the random start, column ``t`` the sequence
        after ``t`` updates.
    best_step
        ``(n_seeds,)`` column of ``trace`` at which each kept sequence was found.
    settings
        The optimisation parameters, for manifests.
    """

    onehot: np.ndarray
    logits: np.ndarray
    target: int
    probability: np.ndarray | None
    trace: np.ndarray
    best_step: np.ndarray
    settings: dict = field(default_factory=dict)

    @property
    def scores(self) -> np.ndarray:
        """``(n_seeds,)`` target logit of each kept sequence."""
        return self.logits[:, self.target]

    @property
    def sequences(self) -> list[str]:
        """The kept sequences as strings."""
        return decode(self.onehot)


def _argmax_onehot(relaxed: torch.Tensor) -> torch.Tensor:
    """The one-hot ``(N, 4, L)`` of each column's most likely base (first base on ties)."""
    return nn.functional.one_hot(relaxed.argmax(dim=1), len(ALPHABET)).permute(0, 2, 1).to(relaxed.dtype)


def _target_logit(model: nn.Module, x: torch.Tensor, target: int) -> torch.Tensor:
    logits = model(x)
    check(logits.ndim == 2, f"the model must return (N, T) logits, got shape {tuple(logits.shape)}")
    check(0 <= target < logits.shape[1], f"target {target} is out of range; the model has {logits.shape[1]} output(s)")
    return logits[:, target]


def _forward(
    model: nn.Module, theta: torch.Tensor, mode: str, temperature: float, target: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The differentiable score, the true score of the argmax one-hot, and that one-hot.

    Under the straight-through estimator ``hard + (relaxed - relaxed.detach())``
    equals ``hard`` exactly in the forward pass (the bracket is exactly zero)
    while its gradient is the softmax's, so one model call yields both scores.
    """
    relaxed = torch.softmax(theta / temperature, dim=1)
    hard = _argmax_onehot(relaxed)
    if mode == "straight_through":
        score = _target_logit(model, hard + (relaxed - relaxed.detach()), target)
        return score, score.detach(), hard
    score = _target_logit(model, relaxed, target)
    with torch.no_grad():
        true = _target_logit(model, hard, target)
    return score, true, hard


def _initial_logits(n_seeds: int, length: int, random_state: int) -> np.ndarray:
    """Standard-normal logits, one independent stream per seed.

    Seed ``i`` draws from ``default_rng([random_state, i])``, so its start (and,
    the optimisation being per-seed, its result) is the same whatever
    ``n_seeds`` is.  The argmax of i.i.d. normal logits is a uniformly random
    sequence: the optimisation starts from noise, as in Simonyan et al.
    """
    return np.stack([
        np.random.default_rng([random_state, seed]).standard_normal((len(ALPHABET), length))
        for seed in range(n_seeds)
    ]).astype(np.float32)


def dream(
    model: nn.Module,
    *,
    target: int | str = 0,
    n_seeds: int = 8,
    steps: int = 200,
    learning_rate: float = 0.1,
    l2: float | None = None,
    mode: str = "straight_through",
    temperature: float = 1.0,
    length: int | None = None,
    random_state: int = 0,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> DreamResult:
    """Optimise sequences to maximise one output of a model (class model visualisation).

    Maximises ``S(x) − l2 · ‖θ‖²`` with Adam over free logits ``θ``
    ``(n_seeds, 4, L)``, where ``S`` is the target logit and ``x`` is built from
    ``θ`` as ``mode`` says (see the module docstring for both modes and for why
    the penalty is on ``θ``).  Every iterate's argmax one-hot is scored by the
    real model; the best one per seed is returned.

    Parameters
    ----------
    model
        Maps ``(N, 4, L)`` float32 to logits ``(N, T)``.  Its mode, device and
        ``requires_grad`` flags are restored before this returns.
    target
        The output to maximise, by index or by the model's output name.
    n_seeds
        Independent random starts, optimised together in one batch.
    steps
        Adam updates per seed.
    learning_rate
        Adam step size; logits start at unit scale, so 0.1 can change a base
        within about ten steps.
    l2
        Weight ``λ`` of the penalty ``λ‖θ‖²`` (summed over the ``4 × L`` logits of
        a sequence); 0 turns it off; ``None`` takes :data:`DEFAULT_L2` of the mode.
    mode
        ``"straight_through"`` (the model only ever sees one-hot sequences) or
        ``"softmax"`` (the model sees ``softmax(θ / τ)``).
    temperature
        ``τ`` of the softmax; lower values make the relaxation closer to one-hot
        and its gradient steeper.
    length
        Sequence length; taken from ``model.config.input_length`` when the model
        has one, required otherwise.
    random_state
        Seed of the random starts; the same seed gives the same result.
    device
        Where to compute; CUDA when available by default.
    progress
        Show a progress bar over the steps when stderr is a terminal.

    Returns
    -------
    DreamResult

    Raises
    ------
    SeqsalError
        For a bad target, a non-positive ``steps``/``n_seeds``/``learning_rate``/
        ``temperature``, a negative ``l2``, an unknown ``mode`` or a missing length.
    """
    check(mode in MODES, f"unknown dream mode {mode!r}; choose one of {', '.join(MODES)}")
    for name, value in (("steps", steps), ("n_seeds", n_seeds)):
        check(isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0,
              f"{name} must be a positive integer, got {value!r}")
    check(learning_rate > 0, f"learning_rate must be positive, got {learning_rate!r}")
    check(temperature > 0, f"temperature must be positive, got {temperature!r}")
    l2 = DEFAULT_L2[mode] if l2 is None else l2
    check(l2 >= 0, f"l2 must be zero or positive, got {l2!r}")
    check(isinstance(random_state, (int, np.integer)) and random_state >= 0,
          f"random_state must be a non-negative integer, got {random_state!r}")
    config = getattr(model, "config", None)
    length = length if length is not None else getattr(config, "input_length", None)
    check(length is not None and length > 0,
          "the model has no config.input_length; pass length= with the sequence length it reads")
    index = resolve_target(model, target)
    check(index >= 0, f"target {target!r} is out of range; give a non-negative output index or an output name")
    device = resolve_device(device)

    trace = np.empty((n_seeds, steps + 1), dtype=np.float32)
    with frozen_model(model, device):
        theta = torch.tensor(_initial_logits(n_seeds, length, random_state), device=device, requires_grad=True)
        optimizer = torch.optim.Adam([theta], lr=learning_rate)
        best_score = torch.full((n_seeds,), -torch.inf, device=device)
        best_onehot = torch.zeros_like(theta)
        best_step = torch.zeros(n_seeds, dtype=torch.long, device=device)
        bar = tqdm(range(steps + 1), desc="dream", unit="step", disable=not (progress and sys.stderr.isatty()))
        for step in bar:
            last = step == steps
            with torch.set_grad_enabled(not last):
                score, true, hard = _forward(model, theta, mode, temperature, index)
            trace[:, step] = true.float().cpu().numpy()
            # Step 0 always counts, so a model that returns NaN still yields its random start.
            improved = (true > best_score) | (step == 0)
            best_score = torch.where(improved, true, best_score)
            best_onehot[improved] = hard[improved]
            best_step[improved] = step
            if last:
                break
            objective = score - l2 * theta.pow(2).sum(dim=(1, 2))
            optimizer.zero_grad(set_to_none=True)
            (-objective.sum()).backward()
            optimizer.step()
            if step % 10 == 0:
                bar.set_postfix(best=f"{best_score.max().item():.3g}")
        onehot = best_onehot.detach().cpu().numpy()
        steps_kept = best_step.cpu().numpy()

    logits = predict(model, onehot, batch_size=n_seeds, device=device)
    task = getattr(config, "task", "classification")
    return DreamResult(
        onehot=onehot,
        logits=logits,
        target=index,
        probability=expit(logits[:, index]) if task == "classification" else None,
        trace=trace,
        best_step=steps_kept,
        settings={"target": index, "n_seeds": int(n_seeds), "steps": int(steps), "learning_rate": learning_rate,
                  "l2": l2, "mode": mode, "temperature": temperature, "random_state": int(random_state),
                  "optimizer": "Adam", "initial_logits": "standard normal, default_rng([random_state, seed])"},
    )


# --------------------------------------------------------------------------- reference and motifs


def reference_percentiles(scores: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Percent of reference scores at or below each score (0-100).

    This is the "weak" percentile: a score equal to the reference maximum is at
    100, one below every reference score at 0.
    """
    reference = np.asarray(reference, dtype=np.float64).ravel()
    check(reference.size > 0, "the reference has no scores; give a FASTA with at least one sequence")
    ranked = np.sort(reference)
    below_or_equal = np.searchsorted(ranked, np.asarray(scores, dtype=np.float64), side="right")
    return 100.0 * below_or_equal / ranked.size


def reference_scores(
    model: EnhancerCNN,
    fasta: str | Path,
    target: int,
    *,
    labels: str | Path | None = None,
    fit: bool = False,
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Target logits of a reference set, e.g. the training positives.

    With ``labels``, only records whose label for the target is 1 are kept, so
    a training FASTA holding both classes can be given as it is.  The label
    column is the one named like the target output, or the only target column.
    """
    records = io.read_fasta(fasta)
    if labels is not None:
        table = io.read_labels(labels)
        columns = io.target_columns(table)
        names = tuple(getattr(model.config, "output_names", ()))
        name = names[target] if target < len(names) else None
        column = name if name in columns else (columns[0] if len(columns) == 1 else None)
        check(column is not None, f"{labels}: no label column named {name!r} for the target, and more than one "
                                  f"target column ({columns}); keep only the target's column")
        values = io.labels_for(records, table[[column]], labels)[:, 0]
        records = [record for record, value in zip(records, values) if value == 1]
        check(records, f"{fasta}: no record is labelled 1 in column {column!r} of {labels}; "
                       "give the positives' labels or leave out the labels")
    X, _ = encode_records(records, model.config.input_length, fit)
    return predict(model, X, batch_size=batch_size, device=device)[:, target]


def resolve_motifs(names: Sequence[str] | None = None, motif_db: str | Path | None = None) -> list[Motif]:
    """The motifs to look for: ``None`` gives the five planted enhancer motifs, ``["all"]`` the whole database."""
    database = MotifDatabase.from_file(motif_db) if motif_db else MotifDatabase.default()
    names = DEFAULT_ENHANCER_MOTIFS if names is None else tuple(names)
    if [name.lower() for name in names] == ["all"]:
        return list(database)
    return database.get_many(names)


def hits_table(hits: Sequence[MotifHit], ids: Sequence[str]) -> pd.DataFrame:
    """Motif hits as a table, one row each, with the id of the hit sequence first."""
    table = hits_to_frame(hits)
    table.insert(0, "id", [ids[hit.sequence_index] for hit in hits])
    return table


def _motif_summary(hits: pd.DataFrame, n_sequences: int) -> list[str]:
    """Per sequence, the distinct motif names found, in order of position, comma-separated."""
    summary = []
    for index in range(n_sequences):
        names = hits.loc[hits["sequence_index"] == index, "name"]
        summary.append(",".join(dict.fromkeys(names)))
    return summary


# --------------------------------------------------------------------------- figures


def plot_trace(result: DreamResult, *, threshold: float | None = None, ax: Axes | None = None) -> Axes:
    """The target logit of each seed's argmax sequence against the step, with the kept iterate marked.

    Parameters
    ----------
    result
        From :func:`dream`.
    threshold
        A reference score to draw as a dashed line, e.g. the 99th percentile of
        the training positives.
    ax
        Axes to draw on; a new figure otherwise.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
    steps = np.arange(result.trace.shape[1])
    colors = plt.get_cmap("tab10")
    for seed, (curve, best) in enumerate(zip(result.trace, result.best_step)):
        color = colors(seed % 10)
        ax.plot(steps, curve, color=color, linewidth=1.2, label=f"seed {seed}")
        ax.plot(best, curve[best], marker="o", color=color, markersize=5, markeredgecolor="black",
                markeredgewidth=0.6)
    if threshold is not None:
        ax.axhline(threshold, color="black", linestyle="--", linewidth=1,
                   label=f"reference {REFERENCE_PERCENTILE:g}th percentile")
    ax.set_xlabel("optimisation step")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole numbers
    ax.set_ylabel(f"target logit (output {result.target})")
    ax.set_title(f"dream ({result.settings.get('mode', '')}): score of the one-hot sequence; dot = kept")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=7, ncol=2 if len(result.trace) > 6 else 1, loc="lower right")
    return ax


# --------------------------------------------------------------------------- the output folder


@dataclass
class DreamSettings:
    """Everything that decides the numbers of a dream folder; recorded in its manifest."""

    target: int | str = 0
    n_seeds: int = 8
    steps: int = 200
    learning_rate: float = 0.1
    l2: float | None = None
    mode: str = "straight_through"
    temperature: float = 1.0
    random_state: int = 0
    motifs: tuple[str, ...] | None = None
    motif_db: str | None = None
    motif_threshold: float = 0.8
    n_logos: int = 4


def run_dream(
    model: str | Path | EnhancerCNN,
    out: str | Path,
    settings: DreamSettings | None = None,
    *,
    reference: str | Path | None = None,
    reference_labels: str | Path | None = None,
    fit: bool = False,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> tuple[Path, pd.DataFrame]:
    """Dream sequences for a model and write them, their scores, motifs and figures to a folder.

    Writes ``dream.fa``, ``dream.tsv`` (one row per seed: score, probability,
    percentile among the reference, motifs found), ``motif_hits.tsv``,
    ``trace.png``, ``logos/dream_<seed>.png`` (grad × input logos of the
    ``settings.n_logos`` best sequences with motif hits boxed; logomaker needs
    about 3 s per 249 bp logo, more than the optimisation of a seed),
    ``report.html`` and ``manifest.json``.
    Every input (model, target, motifs, reference) is checked and the
    reference scored before the optimisation starts, so a mistake fails fast.

    Parameters
    ----------
    model
        A model file, ``"default"`` for the bundled model, or a loaded model.
    out
        Output folder: new, empty, or an earlier seqsal output.
    settings
        Optimisation and motif settings.
    reference
        FASTA of real sequences (e.g. the training positives) whose scores
        the dreamed ones are ranked among.
    reference_labels
        Labels TSV for ``reference``: keep only its positives.
    fit
        Centre-crop or N-pad reference records to the model's length.
    device
        Where to compute.
    progress
        Progress bar on a terminal.

    Returns
    -------
    (pathlib.Path, pandas.DataFrame)
        The folder and the ``dream.tsv`` table.
    """
    settings = settings or DreamSettings()
    check(settings.n_logos >= 0, f"the number of logos must be zero or positive, got {settings.n_logos!r}")
    check(0 < settings.motif_threshold <= 1,
          f"motif threshold must be in (0, 1], got {settings.motif_threshold!r}")
    check(reference_labels is None or reference is not None, "reference labels need a reference FASTA")
    loaded = load_model(model, device="cpu")
    target = resolve_target(loaded, settings.target)
    check(0 <= target < loaded.config.n_outputs,
          f"target {settings.target!r} is out of range; the model has {loaded.config.n_outputs} output(s)")
    motifs = resolve_motifs(settings.motifs, settings.motif_db)
    ref_scores = (reference_scores(loaded, reference, target, labels=reference_labels, fit=fit, device=device)
                  if reference is not None else None)
    folder = io.prepare_output_dir(out)
    manifest = _manifest(model, loaded, settings, target, reference, reference_labels, motifs)
    io.write_json(folder / io.MANIFEST, manifest)  # complete: false until everything below is written

    result = dream(loaded, target=target, n_seeds=settings.n_seeds, steps=settings.steps,
                   learning_rate=settings.learning_rate, l2=settings.l2, mode=settings.mode,
                   temperature=settings.temperature, random_state=settings.random_state, device=device,
                   progress=progress)
    manifest["dream"] = {**result.settings, "trace_final": result.trace[:, -1].tolist()}  # l2 resolved
    ids = [f"dream_{seed}" for seed in range(settings.n_seeds)]
    found = scan(result.onehot, motifs, relative_threshold=settings.motif_threshold)
    hits = hits_table(found, ids)
    table = pd.DataFrame({"id": ids, "seed": np.arange(settings.n_seeds), "best_step": result.best_step,
                          "logit": result.scores})
    if result.probability is not None:
        table["probability"] = result.probability
    threshold = None
    if ref_scores is not None:
        threshold = float(np.percentile(ref_scores, REFERENCE_PERCENTILE))
        table["reference_percentile"] = reference_percentiles(result.scores, ref_scores)
        table["above_reference_p99"] = result.scores > threshold
    table["n_motif_hits"] = [int((hits["sequence_index"] == i).sum()) for i in range(len(ids))]
    table["motifs"] = _motif_summary(hits, len(ids))

    io.write_fasta(folder / "dream.fa", [io.Record(i, s) for i, s in zip(ids, result.sequences)])
    io.write_table(folder / "dream.tsv", table)
    io.write_table(folder / "motif_hits.tsv", hits)
    trace_path = folder / "trace.png"
    ax = plot_trace(result, threshold=threshold)
    save_figure(ax.figure, trace_path)
    plt.close(ax.figure)
    logo_paths = _draw_logos(folder, loaded, result, ids, found, settings.n_logos, device)
    summary = _summary(table, ref_scores, threshold)
    _write_report(folder, manifest, table, hits, summary, trace_path, logo_paths)
    manifest.update(
        complete=True, finished=datetime.now(timezone.utc).isoformat(timespec="seconds"), summary=summary,
        files={"sequences": "dream.fa", "table": "dream.tsv", "motif_hits": "motif_hits.tsv",
               "trace": trace_path.name, "logos": [str(p.relative_to(folder)) for p in logo_paths],
               "report": "report.html"},
    )
    io.write_json(folder / io.MANIFEST, manifest)
    return folder, table


def _draw_logos(folder: Path, model: EnhancerCNN, result: DreamResult, ids: Sequence[str],
                hits: Sequence[MotifHit], n_logos: int, device: str | torch.device | None) -> list[Path]:
    """Grad × input logos of the best ``n_logos`` sequences, motif hits boxed; stale logos of earlier runs go first."""
    logos = folder / "logos"
    logos.mkdir(exist_ok=True)
    for stale in logos.glob("dream_*.png"):
        stale.unlink()
    best = np.argsort(-result.scores, kind="stable")[:n_logos]
    if best.size == 0:
        return []
    hypothetical = attribute(model, result.onehot[best], "grad_x_input", result.target, hypothetical=True,
                             device=device)
    paths = []
    for row, index in enumerate(best):
        record_id = ids[index]
        boxes = [hit for hit in hits if hit.sequence_index == index]
        fig = plot_attribution(hypothetical[row], result.onehot[index], record_id=record_id,
                               prediction=float(result.scores[index]), method="grad_x_input (logit)",
                               motif_hits=boxes)
        path = save_figure(fig, logos / f"{record_id}.png")
        plt.close(fig)
        paths.append(path)
    return paths


def _summary(table: pd.DataFrame, ref_scores: np.ndarray | None, threshold: float | None) -> dict:
    motifs = sorted({name for names in table["motifs"] for name in names.split(",") if name})
    summary = {
        "n_sequences": len(table),
        "logit_min": float(table["logit"].min()),
        "logit_median": float(table["logit"].median()),
        "logit_max": float(table["logit"].max()),
        "sequences_with_motif": int((table["n_motif_hits"] > 0).sum()),
        "motifs_found": motifs,
    }
    if ref_scores is not None:
        summary.update(reference_n=int(ref_scores.size), reference_max=float(ref_scores.max()),
                       reference_p99=threshold, above_reference_p99=int(table["above_reference_p99"].sum()))
    return summary


def _manifest(source, model: EnhancerCNN, settings: DreamSettings, target: int, reference, reference_labels,
              motifs: Sequence[Motif]) -> dict:
    files = {"reference": reference, "reference_labels": reference_labels}
    return {
        **io.manifest_header("dream"),
        "model": model_provenance(source, model),
        "target_index": target,
        "settings": asdict(settings),
        "seed": settings.random_state,
        "inputs": {name: {"path": str(path), "sha256": io.file_sha256(path)}
                   for name, path in files.items() if path is not None},
        "motifs": [{"id": motif.id, "name": motif.name} for motif in motifs],
        "logo_method": "grad_x_input, target logit, uncorrected",
    }


def _write_report(folder: Path, manifest: dict, table: pd.DataFrame, hits: pd.DataFrame, summary: dict,
                  trace_path: Path, logo_paths: Sequence[Path]) -> Path:
    settings = manifest["settings"] | manifest["dream"]
    report = Report(f"seqsal dream — {Path(manifest['model']['path']).name}")
    report.add_paragraph(
        f"Class model visualisation (Simonyan et al. 2014): {summary['n_sequences']} sequences optimised from "
        f"random starts to maximise output {manifest['target_index']} of the model, with Adam on free logits θ "
        f"({settings['mode']}; objective: target logit − {settings['l2']:g}·‖θ‖²). Each row is the best one-hot "
        "iterate of one seed, scored by the model. Scores far above those of real sequences mean the model "
        "extrapolates: read the motifs, not the numbers."
    )
    key_values = {
        "model": manifest["model"]["path"], "target index": manifest["target_index"], "mode": settings["mode"],
        "steps": settings["steps"], "learning rate": settings["learning_rate"], "l2": settings["l2"],
        "temperature": settings["temperature"], "seeds": settings["n_seeds"], "random state": settings["random_state"],
        "motif threshold": settings["motif_threshold"], "seqsal version": manifest["seqsal_version"],
    }
    report.add_key_values(key_values, caption="settings")
    facts = {"logit min / median / max": f"{summary['logit_min']:.3g} / {summary['logit_median']:.3g} / "
                                         f"{summary['logit_max']:.3g}",
             "sequences with a known motif": f"{summary['sequences_with_motif']} of {summary['n_sequences']}",
             "motifs found": ", ".join(summary["motifs_found"]) or "none"}
    if "reference_p99" in summary:
        facts.update({"reference sequences": summary["reference_n"],
                      "reference max / 99th percentile": f"{summary['reference_max']:.3g} / "
                                                         f"{summary['reference_p99']:.3g}",
                      "dreamed above the reference 99th percentile": f"{summary['above_reference_p99']} of "
                                                                     f"{summary['n_sequences']}"})
    report.add_key_values(facts, caption="summary")
    report.add_heading("Dreamed sequences")
    report.add_table(table, caption="dream.tsv")
    report.add_image(trace_path, caption="Target logit of each seed's one-hot sequence during the optimisation; "
                                         "the dot marks the kept iterate.")
    report.add_heading("Known motifs")
    if hits.empty:
        report.add_paragraph("No motif of the list reaches the threshold in any dreamed sequence.")
    else:
        report.add_table(hits.drop(columns="sequence_index"), caption="motif_hits.tsv")
    report.add_heading("Logos")
    if not logo_paths:
        report.add_paragraph("No logos were drawn (n_logos = 0).")
    for path in logo_paths:
        report.add_image(path, caption=f"{path.stem}: grad × input of the target logit; known motif hits shaded")
    return report.write(folder / "report.html")
