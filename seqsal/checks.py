"""Parameter checks that name the parameter and hand the value back.

Every library function validates its arguments before any work starts, so a
bad value fails in one sentence instead of deep inside torch or numpy.  The
checks name the *parameter* (``batch_size``), not a command-line flag: the
same function serves scripts and the CLI.  Each returns the value it checked,
so a function can validate and assign in one line::

    batch_size = check_int(batch_size, "batch_size", minimum=1)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import TypeVar

from seqsal.errors import SeqsalError

T = TypeVar("T")


def check_int(value: object, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` if it is an integer within ``[minimum, maximum]``.

    Booleans are refused: ``True`` as a batch size is a mistake, not 1.

    Raises
    ------
    SeqsalError
        Naming ``name``, the allowed range and the value given.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise SeqsalError(f"{name} must be an integer{_range(minimum, maximum)}, got {value!r}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise SeqsalError(f"{name} must be an integer{_range(minimum, maximum)}, got {value!r}")
    return int(value)


def check_number(
    value: object,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    include_minimum: bool = True,
    include_maximum: bool = True,
) -> float:
    """Return ``value`` as a float if it is a finite number within the given bounds.

    ``include_minimum=False`` makes the lower bound strict (``learning_rate > 0``).

    Raises
    ------
    SeqsalError
        Naming ``name``, the allowed range and the value given.
    """
    bounds = _range(minimum, maximum, include_minimum, include_maximum)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise SeqsalError(f"{name} must be a finite number{bounds}, got {value!r}")
    number = float(value)
    too_low = minimum is not None and (number < minimum if include_minimum else number <= minimum)
    too_high = maximum is not None and (number > maximum if include_maximum else number >= maximum)
    if too_low or too_high:
        raise SeqsalError(f"{name} must be a number{bounds}, got {value!r}")
    return number


def check_choice(value: T, name: str, choices: Iterable[T]) -> T:
    """Return ``value`` if it is one of ``choices``; the message lists them."""
    options = list(choices)
    if value not in options:
        raise SeqsalError(f"{name} must be one of {', '.join(map(str, options))}; got {value!r}")
    return value


def _range(
    minimum: float | None, maximum: float | None, include_minimum: bool = True, include_maximum: bool = True
) -> str:
    """`` ≥ 1``, `` in (0, 1]``, or nothing: the bounds in words for a message."""
    if minimum is not None and maximum is not None:
        return f" in {'[' if include_minimum else '('}{minimum}, {maximum}{']' if include_maximum else ')'}"
    if minimum is not None:
        return f" {'≥' if include_minimum else '>'} {minimum}"
    if maximum is not None:
        return f" {'≤' if include_maximum else '<'} {maximum}"
    return ""
