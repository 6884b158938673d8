"""Option types and option groups that several commands share, so each is spelled and checked once."""

from __future__ import annotations

import argparse
import re

from seqsal.choices import BUNDLED_MODEL_NAMES


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


def add_device(parser: argparse.ArgumentParser, threads: int | None = None) -> None:
    """``--device``, ``--threads`` and ``--quiet``: how a compute command runs.

    ``threads=1`` suits commands that train or optimise tiny models in small
    batches: on shared cores torch's thread pool costs them more than it gains
    (one shortcut training run took 18 s on one thread and 100 s on two).
    """
    parser.add_argument("--device", default=None,
                        help="torch device, e.g. cpu or cuda:0 (default: CUDA when available, else CPU)")
    parser.add_argument("--threads", type=positive_int, default=threads,
                        help="CPU threads for torch (default: " + ("torch's choice)" if threads is None else
                                                                   f"{threads}, as small batches run faster so)"))
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


def add_seqlet_marks(parser: argparse.ArgumentParser) -> None:
    """``--truth``: a table of true motif instances to mark on logos (the simulator's planted.tsv)."""
    parser.add_argument("--truth", default=None, metavar="PLANTED.TSV",
                        help="mark these true motif instances on the logos as bars (a table with id, name, start, "
                             "end, 0-based half-open, like seqsal simulate's planted.tsv)")


def add_model(parser: argparse.ArgumentParser, default: str | None = "default") -> None:
    """``--model`` and the options that load a user's own model (see "Your own model" in the README).

    ``--model`` names a seqsal model file, a ``torch.export`` program or a
    TorchScript file; ``--model-code`` with ``--weights`` builds the model
    from trusted Python instead.  The adapter options say what seqsal cannot
    see from the model.  Names that other options already use (``--length``,
    ``--task``, ``--output``) get a ``model-`` prefix here.
    """
    group = parser.add_argument_group("model")
    group.add_argument("--model", default=default,
                       help="seqsal model file, torch.export program (.pt2) or TorchScript file, or a bundled "
                            f"model: {', '.join(BUNDLED_MODEL_NAMES)} (README model cards)"
                            + ("" if default is None else f" (default {default})"))
    group.add_argument("--model-code", metavar="FILE.py:NAME|pkg.mod:NAME", default=None,
                       help="trusted Python that builds the model (a class or function called without "
                            "arguments); imported only when given, its SHA-256 is recorded")
    group.add_argument("--weights", default=None, help="state dict for the module --model-code builds")
    group.add_argument("--input-layout", choices=("NCL", "NLC"), default="NCL",
                       help="NCL: the model reads (N, 4, L) (default); NLC: it reads (N, L, 4)")
    group.add_argument("--output-index", type=non_negative_int, default=None,
                       help="which element of a tuple output to explain")
    group.add_argument("--output-key", default=None, help="which entry of a dict output to explain")
    group.add_argument("--reduce", choices=("sum", "mean", "profile"), default=None,
                       help="turn a profile output (N, T, L) into (N, T): sum or mean over positions, or "
                            "profile (BPNet: sum of logits × softmax, the softmax held fixed)")
    group.add_argument("--output-names", type=name_list, default=None,
                       help="comma-separated names of the model's outputs (default: the model's own)")
    group.add_argument("--model-length", type=positive_int, default=None,
                       help="input length, for a model that reads any length or does not reveal it")
    group.add_argument("--model-task", choices=("classification", "regression"), default=None,
                       help="classification adds probabilities (default: the model's own, else regression)")


#: The adapter parameters of :func:`seqsal.models.load_model`, as library messages spell them (``length=``), and
#: the options that set them; :func:`as_options` rewrites messages with them.
ADAPTER_FLAGS = {"length": "--model-length", "input_layout": "--input-layout", "output_index": "--output-index",
                  "output_key": "--output-key", "reduce": "--reduce", "output_names": "--output-names",
                  "task": "--model-task"}


def as_options(message: str) -> str:
    """A library message with the model-loading parameters it names (``length=``) spelled as their options."""
    for name, flag in ADAPTER_FLAGS.items():
        message = re.sub(rf"\b{name}=", flag, message)
    return message


def model_from_args(args: argparse.Namespace):
    """The model :func:`add_model`'s options name, for a library call (a :class:`seqsal.SeqsalError` if they do not fit).

    A plain ``--model`` (a file or ``default``) is passed on as given, so
    manifests and reports name it as the user did; code or adapter options
    load the model here.  ``None`` when the command's ``--model`` has no
    default and none was given (``evaluate`` then uses the bundle's model,
    ``audit`` runs no model check).
    """
    from seqsal.errors import check
    from seqsal.models import load_model

    check(args.model_code is not None or args.weights is None, "--weights needs --model-code, the Python that "
                                                               "builds the module the weights are for")
    check(args.model_code is None or args.model in (None, "default"),
          "give either --model (a model file) or --model-code with --weights, not both")
    adapters = {"input_layout": args.input_layout, "output_index": args.output_index, "output_key": args.output_key,
                "reduce": args.reduce, "output_names": args.output_names, "length": args.model_length,
                "task": args.model_task}
    if args.model_code is None and all(value in (None, "NCL") for value in adapters.values()):
        return args.model
    source = "default" if args.model_code is not None or args.model is None else args.model
    return load_model(source, getattr(args, "device", None), code=args.model_code, weights=args.weights,
                      **adapters)



def window(text: str) -> tuple[int, int]:
    """``"80:140"`` → ``(80, 140)``: first and last position drawn, 1-based and inclusive."""
    from seqsal.errors import SeqsalError
    from seqsal.figures.style import parse_window

    try:
        return parse_window(text)
    except SeqsalError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_figure(parser: argparse.ArgumentParser, window_flag: str = "--window") -> None:
    """The figure options: window, style, size in inches, dpi and font size (``window_flag`` names the window
    option, for a command whose ``--window`` means something else)."""
    from seqsal.choices import FIGURE_STYLES

    group = parser.add_argument_group("figure options", "size, lettering and window of the logo figures")
    group.add_argument(window_flag, dest="figure_window", type=window, default=None, metavar="FIRST:LAST",
                       help="draw only positions FIRST to LAST (1-based, inclusive, numbered as on the axis, "
                            "i.e. in the input record), e.g. 80:140")
    group.add_argument("--style", choices=FIGURE_STYLES, default="screen",
                       help="screen: as wide as the sequence (about 1 in per 12 bp), 10-pt text, 150 dpi; paper: "
                            "a 7.2-in double journal column, 7-pt text, 300 dpi (--width 3.5 for a single "
                            "column) (default screen)")
    group.add_argument("--width", type=float, default=None, help="figure width in inches (default: the style's)")
    group.add_argument("--height", type=float, default=None, help="figure height in inches (default: the style's)")
    group.add_argument("--dpi", type=positive_int, default=None,
                       help="PNG resolution (default: 150 screen, 300 paper); PDF and SVG keep text as text")
    group.add_argument("--font-size", type=float, default=None,
                       help="text size in points at the figure's size (default: 10 screen, 7 paper)")


def figure_from_args(args: argparse.Namespace):
    """The :class:`~seqsal.figures.style.FigureOptions` the figure options ask for."""
    from seqsal.figures.style import FigureOptions

    return FigureOptions(style=args.style, width=args.width, height=args.height, dpi=args.dpi,
                         font_size=args.font_size, window=args.figure_window).checked()



def add_intervals(parser: argparse.ArgumentParser) -> None:
    """``--bed``, ``--genome`` and ``--stranded``: read peaks from a reference genome instead of a FASTA."""
    group = parser.add_argument_group("genome intervals", "explain peaks instead of a FASTA: each interval is "
                                      "centred (on its summit for narrowPeak) to the model's length")
    group.add_argument("--bed", default=None,
                       help="BED3/BED6/narrowPeak file (plain or gzipped) of intervals; needs --genome, replaces FASTA")
    group.add_argument("--genome", default=None,
                       help="reference FASTA (plain, or bgzip with .fai/.gzi); a missing index is built beside it")
    group.add_argument("--stranded", action="store_true",
                       help="reverse-complement minus-strand intervals (BED column 6), so the model reads them 5'->3'")


def check_input(args: argparse.Namespace) -> None:
    """Exactly one input: a FASTA, or ``--bed`` with ``--genome`` (a :class:`seqsal.SeqsalError` otherwise)."""
    from seqsal.errors import check

    check((args.fasta is None) != (args.bed is None), "give a FASTA or --bed with --genome, not both or neither")
    check((args.bed is None) == (args.genome is None), "--bed and --genome go together: intervals are read from "
                                                        "the genome")
    check(args.bed is not None or not args.stranded, "--stranded applies to --bed intervals only")
