"""``python -m seqsal.cli``: the same as the ``seqsal`` command."""

import sys

from seqsal.cli.main import main

sys.exit(main())
