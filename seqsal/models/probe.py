"""Finding what a user's model reads and returns by running it on trial sequences.

seqsal needs a model's input length (commands crop or pad sequences to it)
and its number of outputs.  A seqsal model file and an exported program with a
static length state the length; for any other model it is found here:

- a model that runs on two different trial lengths reads any length, and the
  user must say which one to use;
- a model whose head is a ``Flatten → Linear`` runs on only a few lengths.
  Forward pre-hooks on its ``nn.Linear`` layers compare the width that reaches
  each one with its ``in_features``; because that width grows with the input
  length, a bisection finds the lengths that fit.  Max-pooling rounds down, so
  several lengths can fit (DeepSTARR's head fits 248–255 bases): then the user
  must say which one the model was trained on.

Hooks need ordinary modules; a TorchScript model that fails on the trial
lengths cannot be probed, and the message asks for the length.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from seqsal.errors import SeqsalError, check

#: Two lengths that share no pooling factor pattern, so a model reading any length runs on both.
TRIAL_LENGTHS = (200, 263)
#: The longest input the bisection tries.
MAX_LENGTH = 1 << 17

Forward = Callable[[torch.Tensor], torch.Tensor]


def trial_batch(length: int, n: int = 2) -> torch.Tensor:
    """``n`` random one-hot sequences ``(n, 4, length)`` from a fixed seed (the same trial every time)."""
    generator = torch.Generator().manual_seed(0)
    bases = torch.randint(0, 4, (n, length), generator=generator)
    return torch.nn.functional.one_hot(bases, 4).transpose(1, 2).float()


def try_forward(forward: Forward, length: int) -> tuple[torch.Tensor | None, str]:
    """The output on a trial batch of ``length``, or ``None`` and the last line of the error.

    A :class:`~seqsal.errors.SeqsalError` (an adapter that does not fit the
    output) is not a length problem and propagates.
    """
    try:
        with torch.no_grad():
            return forward(trial_batch(length)), ""
    except SeqsalError:
        raise
    except Exception as err:  # any failure of the user's network on this length
        # The last line: TorchScript puts its interpreter trace first and the actual error last.
        lines = str(err).strip().splitlines() or [""]
        return None, f"{type(err).__name__}: {lines[-1].strip()}"[:300]


def discover_length(forward: Forward, network: nn.Module, name: str) -> int:
    """The one input length ``network`` reads, found by trial runs; refuse when there is none or several.

    Parameters
    ----------
    forward
        The adapted forward (layout and dtype applied) that takes ``(N, 4, L)``.
    network
        The user's module, whose ``nn.Linear`` layers are hooked.
    name
        How messages name the model (its path, or ``"the model"``).

    Raises
    ------
    SeqsalError
        The model reads any length, several lengths, or could not be probed;
        each message asks for ``length=``.
    """
    outputs = [try_forward(forward, length) for length in TRIAL_LENGTHS]
    check(any(out is None for out, _ in outputs),
          f"{name} reads sequences of any length; pass length= with the length to explain "
          "(sequences are centre-cropped or N-padded to it when fitting is asked for)")
    error = next(message for out, message in outputs if out is None)
    linears = [module for module in network.modules() if isinstance(module, nn.Linear)]
    check(linears and not isinstance(network, torch.jit.ScriptModule),
          f"{name} failed on a trial sequence of {TRIAL_LENGTHS[0]} bases ({error}) and its input length could "
          "not be found; pass length= with the length it reads")
    low = _bisect(forward, linears, lambda side: side >= 0)
    high = _bisect(forward, linears, lambda side: side > 0) - 1
    check(low <= high, f"{name} failed on every trial length ({error}); pass length= with the length it reads")
    check(low == high, f"{name} fits any length from {low} to {high} bases (pooling rounds down before its "
                       "Flatten → Linear head); pass length= with the length it was trained on")
    return low


def _bisect(forward: Forward, linears: list[nn.Module], accept: Callable[[int], bool]) -> int:
    """Smallest length in ``[1, MAX_LENGTH]`` whose side (see :func:`_side`) is accepted, else ``MAX_LENGTH + 1``."""
    low, high = 1, MAX_LENGTH + 1
    while low < high:
        middle = (low + high) // 2
        if accept(_side(forward, linears, middle)):
            high = middle
        else:
            low = middle + 1
    return low


class _WidthMismatch(Exception):
    """Raised by a pre-hook to stop a trial run at the first Linear whose input width does not fit."""

    def __init__(self, width: int, needed: int) -> None:
        super().__init__(width, needed)
        self.too_long = width > needed


def _side(forward: Forward, linears: list[nn.Module], length: int) -> int:
    """-1 when ``length`` is too short, 0 when the model runs on it, +1 when too long."""

    def compare(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        width = inputs[0].shape[-1]
        if width != module.in_features:
            raise _WidthMismatch(width, module.in_features)

    handles = [module.register_forward_pre_hook(compare) for module in linears]
    try:
        with torch.no_grad():
            forward(trial_batch(length, n=1))
        return 0
    except _WidthMismatch as mismatch:
        return 1 if mismatch.too_long else -1
    except SeqsalError:
        raise
    except Exception:  # too short for the trunk: pooling or a kernel ran out of positions
        return -1
    finally:
        for handle in handles:
            handle.remove()
