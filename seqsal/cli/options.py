"""Option types and option groups that several commands share, so each is spelled and checked once."""

from __future__ import annotations

import argparse


def int_list(text: str) -> tuple[int, ...]:
    """``"7,3,5"`` → ``(7, 3, 5)``."""
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def non_negative_int(text: str) -> int:
    """An integer ≥ 0 (seeds, counts that may be zero)."""
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text}")
    return value


def positive_int(text: str) -> int:
    """An integer ≥ 1 (batch sizes, counts)."""
    value = _integer(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def fraction(text: str) -> float:
    """A number in (0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text}")
    return value


def name_list(text: str) -> tuple[str, ...]:
    """``"GATA1, CTCF"`` → ``("GATA1", "CTCF")``."""
    return tuple(v.strip() for v in text.split(",") if v.strip())


def add_device(parser: argparse.ArgumentParser) -> None:
    """``--device``, ``--threads`` and ``--quiet``: how a compute command runs."""
    parser.add_argument("--device", default=None,
                        help="torch device, e.g. cpu or cuda:0 (default: CUDA when available, else CPU)")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="CPU threads for torch (default: torch's choice)")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress (a bar on a terminal, a line every 30 s in a log otherwise)")


def add_output(parser: argparse.ArgumentParser) -> None:
    """``--out`` and ``--force``: the run's folder and whether it may replace an earlier run's files."""
    parser.add_argument("--out", required=True,
                        help="output folder: new, empty, or an earlier run of this command that this run "
                             "rewrites completely")
    parser.add_argument("--force", action="store_true",
                        help="replace an earlier run of this command in --out even when this run would not "
                             "rewrite all of its files (they are deleted)")
