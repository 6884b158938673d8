"""What an explain run computes: its settings, the methods it runs and the options each method gets.

The settings are recorded in the bundle's manifest; a resumed run and the
shards of a merge must agree on every one of them except the few that only
shape the logos and the report (:data:`PRESENTATION_SETTINGS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from seqsal.checks import check_choice, check_int, check_number
from seqsal.choices import FIGURE_FORMATS, METHODS, OUTPUTS
from seqsal.errors import check

#: Settings that only shape logos and the report, drawn at the end: a resumed run (or a merge) may change them.
PRESENTATION_SETTINGS = ("n_logos", "logo_format", "motifs", "motif_db", "motif_threshold", "truth", "seqlets",
                         "seqlet_p_threshold", "seqlet_fdr")


@dataclass(frozen=True)
class ExplainSettings:
    """Everything that decides the numbers in a bundle; recorded in its manifest.

    Frozen, so a run never changes the caller's object: :func:`checked`
    returns a normalised copy instead.
    """

    methods: tuple[str, ...] = ("saliency", "grad_x_input")
    target: int | str = 0
    output: str = "logit"
    correct: bool = False
    fit: bool = False
    batch_size: int = 128
    n_logos: int = 10
    motifs: tuple[str, ...] = ()
    motif_db: str | None = None
    motif_threshold: float = 0.8
    logo_format: str = "png"
    options: dict = field(default_factory=dict)
    seqlets: bool = False  # call seqlets at the end of the run (seqsal.explain.seqlets), box them on logos
    seqlet_p_threshold: float = 0.02
    seqlet_fdr: float = 0.5  # the run-level gate of seqlet calling (seqsal.seqlets.fdr)
    truth: str | None = None  # a planted.tsv whose instances the logos mark as ground truth
    first_index: int = 0  # global index of the input's first record: seeds stay those of a whole-file run
    dedupe_ids: bool = False  # suffix repeated record ids with _2, _3, ... instead of refusing them


def parse_methods(text: str | Sequence[str]) -> tuple[str, ...]:
    """Split ``"saliency,grad_x_input"`` and check every name against the registry."""
    names = [m.strip() for m in (text.split(",") if isinstance(text, str) else text) if m.strip()]
    check(names, "no attribution method given; choose from " + ", ".join(METHODS))
    for name in names:
        check(name in METHODS, f"unknown method {name!r}; choose from {', '.join(METHODS)}")
    return tuple(dict.fromkeys(names))


def checked(settings: ExplainSettings) -> ExplainSettings:
    """A validated copy of ``settings`` with the methods parsed; errors name the setting.

    Runs before anything is read or written, so a bad value costs nothing.
    """
    settings = replace(settings, methods=parse_methods(settings.methods), motifs=tuple(settings.motifs))
    check_choice(settings.output, "output", OUTPUTS)
    check_int(settings.batch_size, "batch_size", minimum=1)
    check_int(settings.n_logos, "n_logos", minimum=0)
    check_int(settings.first_index, "first_index", minimum=0)
    check_number(settings.motif_threshold, "motif_threshold", minimum=0, maximum=1, include_minimum=False)
    check_choice(settings.logo_format, "logo_format", FIGURE_FORMATS)
    check_number(settings.seqlet_p_threshold, "seqlet_p_threshold", minimum=0, maximum=1, include_minimum=False)
    check_number(settings.seqlet_fdr, "seqlet_fdr", minimum=0, maximum=1, include_minimum=False)
    from seqsal.attribution import method_options  # here, not above: reading a bundle's settings needs no torch

    accepted = {name for method in settings.methods for name in method_options(method)}
    for name in settings.options:
        check(name in accepted, f"option {name!r} applies to none of the methods {list(settings.methods)}")
    return settings


def options_for(method: str, settings: ExplainSettings, offset: int) -> dict:
    """The run's options that ``method`` accepts, with the batch's global offset for seeding."""
    from seqsal.attribution import method_options  # as in checked()

    accepted = method_options(method)
    options = {k: v for k, v in settings.options.items() if k in accepted}
    if "offset" in accepted:
        options["offset"] = offset
    return options
