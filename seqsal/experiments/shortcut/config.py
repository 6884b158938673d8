"""The settings of a shortcut run (:class:`ShortcutConfig`) and the names of the explanations it scores.

Every setting a user can get wrong is checked when the config is built, so a
run fails before it writes or trains anything.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from seqsal.attribution import METHODS
from seqsal.checks import check_choice, check_int, check_number
from seqsal.errors import check
from seqsal.experiments.shortcut.plant import DEFAULT_ADAPTER, PLACEMENTS, adapter_insert
from seqsal.models import ModelConfig
from seqsal.motifs import load_adapters

MOTIF_PRIOR = "motif_prior"
"""The model-blind pseudo-explanation (:func:`motif_prior`)."""

CORRECTED = "_corrected"
"""Suffix that asks for the Majdandzic et al. gradient correction, e.g. ``grad_x_input_corrected``."""

DEFAULT_METHODS = (
    "saliency",
    "grad_x_input",
    "grad_x_input_corrected",
    "integrated_gradients",
    "smoothgrad",
    "ism",
    MOTIF_PRIOR,
)

@dataclass(frozen=True)
class ShortcutConfig:
    """Every setting that decides the numbers of a shortcut run; stored in its manifest.

    The default model is deliberately small (two convolution blocks): the
    experiment trains one model per rate on two CPU cores, and a motif-plus-
    adapter task needs no more.  The exponential first-layer activation makes
    first-layer filters look like motifs (Koo & Ploenzke 2021), which keeps
    attributions sharp enough to read on a logo.

    Parameters
    ----------
    n, length
        Simulated sequences and their length.
    adapter
        Record id in the adapter FASTA (``adapter_file``, or the bundled list).
    adapter_length
        Plant only this prefix of the adapter; ``None`` plants it in full
        (33 nt for TruSeq read 1).  Read-through leaves a prefix, so short
        prefixes are the realistic case at the 3' end.
    adapter_file
        FASTA of adapters; ``None`` uses ``data/adapters.fa``.
    placement
        ``"random"`` or ``"3prime"`` (see the module docstring).
    rates
        Contamination rates, shares of positive training sequences, in [0, 1].
    methods
        Attribution methods of :data:`seqsal.attribution.METHODS`, optionally
        with the suffix ``_corrected``, and ``motif_prior``.
    conv_channels, kernel_sizes, dense_units, activation, head, dropout
        The :class:`~seqsal.models.ModelConfig` of every model.  The
        global-average-pooling head is position-invariant, as motifs and a
        randomly placed adapter are: on 16,000 training sequences it reached
        test AUROC 0.97 in 8 epochs where the flatten head reached 0.91.
    epochs, patience
        Training epochs at most, and early-stopping patience.
    n_eval
        Contaminated test positives on which explanations are scored.
    deletion_steps
        Steps of the deletion/insertion curves.
    random_state
        Seed of the simulation, the adapter positions, training and noise.
    """

    n: int = 20000
    length: int = 200
    adapter: str = DEFAULT_ADAPTER
    adapter_length: int | None = None
    adapter_file: str | None = None
    placement: str = "random"
    rates: tuple[float, ...] = (0.0, 0.1, 0.5, 1.0)
    methods: tuple[str, ...] = DEFAULT_METHODS
    conv_channels: tuple[int, ...] = (32, 32)
    kernel_sizes: tuple[int, ...] = (15, 5)
    dense_units: tuple[int, ...] = (32,)
    activation: str = "exp"
    head: str = "gap"
    dropout: float = 0.2
    epochs: int = 8
    patience: int = 2
    n_eval: int = 200
    deletion_steps: int = 20
    random_state: int = 0

    def __post_init__(self) -> None:
        for name in ("rates", "methods", "conv_channels", "kernel_sizes", "dense_units"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        check_int(self.n, "n", minimum=100)  # fewer leaves a split without one of the classes
        check_int(self.length, "length", minimum=1)
        check_choice(self.placement, "placement", PLACEMENTS)
        check(self.rates, "rates is empty; give at least one contamination rate, e.g. 0,1")
        for rate in self.rates:
            check_number(rate, "rates", minimum=0, maximum=1)
        check(len(set(self.rates)) == len(self.rates), f"rates repeat a value: {list(self.rates)}")
        check(self.methods, "methods is empty; give at least one, e.g. grad_x_input,motif_prior")
        for method in self.methods:
            parse_method(method)
        for name in ("epochs", "patience", "n_eval", "deletion_steps"):
            check_int(getattr(self, name), name, minimum=1)
        check_int(self.random_state, "random_state", minimum=0)
        # Everything a user can get wrong is checked here, before a run writes or trains anything.
        self.model_config()
        insert = adapter_insert(self.adapter, self.adapter_length, load_adapters(self.adapter_file))
        check(
            len(insert) < self.length,
            f"the {len(insert)}-nt adapter does not fit {self.length}-bp sequences with room for motifs; "
            "lengthen the sequences or plant a shorter prefix (adapter_length)",
        )

    @classmethod
    def quick(cls, **changes: object) -> ShortcutConfig:
        """A preset that finishes in about half a minute: the test suite's configuration.

        Shorter sequences, a clean, a slightly (0.1) and a fully contaminated
        model, four epochs and the cheap methods.  The adapter is learned
        within one epoch at rate 1; the clean model is weak (test AUROC about
        0.85), so its deletion AUCs are noisy, but the contrast in flip rates
        between the clean and the fully contaminated model is large (about
        25 % against 100 %).  The intermediate rate keeps the case where maps
        can hide a shortcut the model uses in every test run.
        """
        preset = dict(
            n=3000, length=150, rates=(0.0, 0.1, 1.0), epochs=4, patience=2, n_eval=40, deletion_steps=10,
            methods=("saliency", "grad_x_input", "grad_x_input_corrected", MOTIF_PRIOR),
        )
        return cls(**{**preset, **changes})

    def model_config(self) -> ModelConfig:
        """The architecture of every model of the run."""
        return ModelConfig(
            input_length=self.length, conv_channels=self.conv_channels, kernel_sizes=self.kernel_sizes,
            dense_units=self.dense_units, activation=self.activation, head=self.head,
            dropout=self.dropout,
        )

    def to_dict(self) -> dict:
        """Plain JSON-like settings (tuples become lists) for the manifest."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}


def parse_method(name: str) -> tuple[str, bool]:
    """Split a method label into the attribution method and whether the gradient correction applies.

    Raises
    ------
    SeqsalError
        For a name that is neither ``motif_prior`` nor a registered method (with or without ``_corrected``).
    """
    if name == MOTIF_PRIOR:
        return name, False
    corrected = name.endswith(CORRECTED)
    base = name[: -len(CORRECTED)] if corrected else name
    check(
        base in METHODS,
        f"unknown method {name!r}; choose from {', '.join(METHODS)}, {MOTIF_PRIOR}, or a method with the "
        f"suffix {CORRECTED}",
    )
    return base, corrected

