"""The one error type a user can cause, and the check helper that raises it.

Every mistake a user can make (a bad FASTA, an unknown motif, a model file that
is not a seqsal model) surfaces as :class:`SeqsalError` with one sentence that
names the culprit and says what to do.  The CLI prints that sentence and exits
with status 2; library callers can catch it as a ``ValueError``.
"""

from __future__ import annotations


class SeqsalError(ValueError):
    """A problem with the user's input, described in one actionable sentence."""


class SeqsalWarning(UserWarning):
    """Something a user should know about a result that is still returned (all-zero maps, poor convergence)."""


def check(condition: object, message: str) -> None:
    """Raise :class:`SeqsalError` with ``message`` unless ``condition`` holds.

    Parameters
    ----------
    condition
        Anything truthy passes.
    message
        One sentence naming the file, record or argument and what to do.
    """
    if not condition:
        raise SeqsalError(message)
