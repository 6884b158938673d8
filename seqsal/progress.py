"""Progress of long work: a live bar on a terminal, timed log lines everywhere else.

A run of several minutes must say how far it is in a log file too (a cluster
job, ``nohup``, a Snakemake rule), where a carriage-return bar is noise or
nothing.  :class:`Progress` draws a ``tqdm`` bar when standard error is a
terminal and otherwise writes one line every ``interval`` seconds, with the
count, the rate and the time left, plus a closing line.  Every long loop in
seqsal reports through it, so the format is the same everywhere.
"""

from __future__ import annotations

import sys
import time
from typing import IO

from tqdm import tqdm


class Progress:
    """Report progress of ``total`` units of work (``None``: unknown total).

    Parameters
    ----------
    total
        Units to do, or ``None`` when unknown (no percentage or ETA then).
    desc
        What is running, e.g. ``"explain"``; starts every line.
    unit
        Name of one unit, e.g. ``"seq"``.
    enabled
        ``False`` silences everything (``--quiet``, library calls).
    initial
        Units already done (a resumed run).
    interval
        Seconds between log lines when standard error is not a terminal.
    stream
        Where to write; standard error by default.  A stream that is a
        terminal gets a bar, anything else log lines.
    """

    def __init__(
        self,
        total: int | None,
        desc: str,
        unit: str = "it",
        *,
        enabled: bool = True,
        initial: int = 0,
        interval: float = 30.0,
        stream: IO[str] | None = None,
    ) -> None:
        self.total, self.desc, self.unit = total, desc, unit
        self.done = initial
        self.enabled = enabled
        self.interval = interval
        self._stream = stream if stream is not None else sys.stderr
        self._initial = initial
        self._start = self._last = time.monotonic()
        is_terminal = getattr(self._stream, "isatty", lambda: False)()
        self._bar = (
            tqdm(total=total, initial=initial, desc=desc, unit=unit, file=self._stream, smoothing=0.1)
            if enabled and is_terminal
            else None
        )

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close(failed=exc_info[0] is not None)

    def update(self, n: int = 1) -> None:
        """Count ``n`` more units done; on a log, write a line when ``interval`` has passed."""
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        elif self.enabled and time.monotonic() - self._last >= self.interval:
            self._line()

    def note(self, text: str) -> None:
        """Write one line of text (an epoch's metrics, a warning) without breaking the bar."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.write(f"{self.desc}: {text}", file=self._stream)
        else:
            print(f"{self.desc}: {text}", file=self._stream, flush=True)

    def close(self, failed: bool = False) -> None:
        """Close the bar, or write the closing line with the total time."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.enabled and not failed and self.done > self._initial:
            self._line(final=True)
        self.enabled = False

    def _line(self, final: bool = False) -> None:
        now = time.monotonic()
        self._last = now
        elapsed = now - self._start
        rate = (self.done - self._initial) / elapsed if elapsed > 0 else 0.0
        count = f"{self.done}/{self.total}" if self.total is not None else f"{self.done}"
        parts = [f"{self.desc}: {count} {self.unit}"]
        if self.total:
            parts.append(f"({100 * self.done / self.total:.0f}%)")
        if final:
            parts.append(f"in {format_duration(elapsed)},")
        parts.append(f"{rate:.3g} {self.unit}/s")
        if not final and self.total is not None and rate > 0:
            parts.append(f"ETA {format_duration((self.total - self.done) / rate)}")
        print(" ".join(parts), file=self._stream, flush=True)


def format_duration(seconds: float) -> str:
    """``'42s'``, ``'3m05s'``, ``'1h02m'``: short durations for progress lines."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
