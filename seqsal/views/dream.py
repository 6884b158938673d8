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

from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.special import expit
from torch import nn

from seqsal.attribution.base import frozen_model, resolve_target
from seqsal.checks import check_choice, check_int, check_number
from seqsal.choices import DREAM_MODES
from seqsal.encoding import ALPHABET, decode
from seqsal.errors import check
from seqsal.models import predict, resolve_device
from seqsal.progress import Progress

MODES = DREAM_MODES
DEFAULT_L2 = {"straight_through": 0.01, "softmax": 0.001}
"""Penalty weight per mode when none is given, measured on the bundled model (8 seeds, 200 steps).

Straight-through: median best logit 47 without the penalty, 54 with 0.001, 55 with 0.01.  The softmax
relaxation needs a weaker penalty: the model only rewards the argmax sequence once the relaxation is close to
one-hot, and the penalty holds the logits back from that; with 0.01 no seed got past a logit of 3 (the
training positives' 99th percentile is 11.5), with 0.001 every seed reached 55 to 64.
"""


@dataclass(frozen=True)
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
        Report the steps on stderr (a bar on a terminal, a line every 30 s in a log).

    Returns
    -------
    DreamResult

    Raises
    ------
    SeqsalError
        For a bad target, a non-positive ``steps``/``n_seeds``/``learning_rate``/
        ``temperature``, a negative ``l2``, an unknown ``mode`` or a missing length.
    """
    check_choice(mode, "mode", MODES)
    steps = check_int(steps, "steps", minimum=1)
    n_seeds = check_int(n_seeds, "n_seeds", minimum=1)
    check_number(learning_rate, "learning_rate", minimum=0, include_minimum=False)
    check_number(temperature, "temperature", minimum=0, include_minimum=False)
    l2 = check_number(DEFAULT_L2[mode] if l2 is None else l2, "l2", minimum=0)
    random_state = check_int(random_state, "random_state", minimum=0)
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
        bar = Progress(steps, "dream", "step", enabled=progress)
        for step in range(steps + 1):
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
            bar.update()
        bar.close()
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
