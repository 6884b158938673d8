"""The files of a shortcut run: their names, per rate, and the full list its manifest records.

Known before the run starts, so the output folder can be claimed for exactly
these files (:meth:`seqsal.runs.RunFolder.claim`) and the manifest of a
finished run lists what is there.
"""

from __future__ import annotations

from seqsal.experiments.shortcut.config import ShortcutConfig

TABLES = ("shortcut.tsv", "reliance.tsv", "adapter_motifs.tsv", "adapter_effects.tsv", "claims.tsv")
FIGURES = ("tradeoff.png", "rates.png")
PER_RATE = ("models/{label}.pt", "logos/{label}.png", "effects/{label}.png")
"""One model, one example-logo figure and one effect-scatter figure per rate."""

STALE = ("models/*.pt", "logos/*.png", "effects/*.png")
"""Patterns of per-rate files an earlier run may have left for rates this run does not have."""


def rate_label(rate: float) -> str:
    """``rate_0.5``: how a rate names its model and figure files."""
    return f"rate_{rate:g}"


def rate_file(pattern: str, rate: float) -> str:
    """The path, relative to the run folder, of one per-rate file, e.g. ``models/rate_0.5.pt``."""
    return pattern.format(label=rate_label(rate))


def output_files(config: ShortcutConfig) -> list[str]:
    """Every file a finished run of ``config`` holds besides its manifest, sorted."""
    per_rate = [rate_file(pattern, rate) for rate in config.rates for pattern in PER_RATE]
    return sorted([*TABLES, *FIGURES, "report.html", *per_rate])
