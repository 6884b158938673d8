"""The ``seqsal`` command: one parser, one module per command, one way to report errors.

Every user-caused problem arrives here as :class:`seqsal.SeqsalError`; the
command prints its one sentence and exits with status 2, no traceback.
Command modules import the library lazily inside ``run``, so ``--help`` and
``--version`` answer without importing torch.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from seqsal import __version__
from seqsal.cli import (
    audit, dream, evaluate, explain, filters, logo, merge, modisco_coords, options, pitfalls, predict, seqlets, shortcut,
    simulate, split, tracks, train,
)
from seqsal.errors import SeqsalError

EPILOG = "Run 'seqsal <command> --help' for a command's options. Docs: README.md."

#: Commands in the order ``seqsal --help`` lists them.
COMMANDS = (simulate, train, predict, explain, logo, seqlets, split, merge, tracks, modisco_coords, audit, evaluate,
            shortcut, dream, filters, pitfalls)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``seqsal`` and all subcommands."""
    parser = argparse.ArgumentParser(
        prog="seqsal",
        description="Explain DNA sequence models: attributions, sequence logos, faithfulness checks.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"seqsal {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="<command>", required=True)
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


#: Options that name an input FASTA; ``-`` as their value means standard input.
FASTA_OPTIONS = ("fasta", "pos", "neg", "reference")


@contextmanager
def _stdin_inputs(args: argparse.Namespace) -> Iterator[None]:
    """Let ``-`` stand for standard input in any FASTA option, spooled to a temporary file for the run."""
    dashes = [name for name in FASTA_OPTIONS if getattr(args, name, None) == "-"]
    if len(dashes) > 1:
        raise SeqsalError(f"only one input can be read from standard input, got '-' for {', '.join(dashes)}")
    if not dashes:
        yield
        return
    from seqsal.io import stdin_as_file

    with stdin_as_file() as path:
        setattr(args, dashes[0], str(path))
        yield


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for user errors, 130 when interrupted)."""
    from seqsal.runs import invoked_as

    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "threads", None):
            import torch

            torch.set_num_threads(args.threads)
        with invoked_as(argv), _stdin_inputs(args):
            status = args.run(args)
    except SeqsalError as error:
        print(f"seqsal {args.command}: error: {options.as_options(str(error))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        hint = "; continue with --resume" if args.command == "explain" else ""
        print(f"seqsal {args.command}: interrupted; finished files are kept, unfinished ones were not "
              f"written{hint}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return status or 0
