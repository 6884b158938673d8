"""Public names of a package loaded on first use, so that light commands need not import heavy modules.

``seqsal --help`` should answer without torch, and ``seqsal logo`` should draw a
finished bundle without it; a package that imported all its modules eagerly
would load torch for both.  A package lists its public names and the modules
that define them, and gets the module-level ``__getattr__`` and ``__dir__``
(PEP 562) that import a module when one of its names is first asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_names(package: str, names: Mapping[str, str],
               defined: Iterable[str] = ()) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose public ``names`` live in the given modules.

    Parameters
    ----------
    package
        The package's ``__name__``, for error messages.
    names
        Public name → the module (dotted path) that defines it.
    defined
        Public names the package defines itself; listed by ``__dir__`` too.

    Returns
    -------
    tuple
        ``(__getattr__, __dir__)``, to assign at the package's top level.
    """
    listed = sorted([*names, *defined])

    def __getattr__(name: str) -> Any:
        if name in names:
            return getattr(importlib.import_module(names[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return listed

    return __getattr__, __dir__
