"""The ``seqsal`` command: argument parsing and one thin module per command.

Importing this package must stay cheap: ``seqsal --help`` and ``--version``
answer without importing torch or matplotlib.
"""

from seqsal.cli.main import main

__all__ = ["main"]
