"""Lazy re-exports for family packages (PEP 562), so importing a package costs nothing.

A family's ``__init__`` names its public members and the submodule that defines each; the
submodule (and the engine behind it: SQLAlchemy, httpx, cryptography...) is imported when a name
is first asked for, not when pytest loads the plugin::

    __getattr__, __dir__ = lazy_exports(__name__, {".engine": ("run_load", "run_plan")})

The package keeps ``TYPE_CHECKING`` imports of the same names for type checkers.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, Iterable[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module ``__getattr__`` and ``__dir__`` resolving each name from its submodule on first use.

    ``exports`` maps a submodule (relative, e.g. ``".engine"``) to the names it provides.
    """
    where = {name: submodule for submodule, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        submodule = where.get(name)
        if submodule is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        # Not cached on the package: the name always follows the submodule now in ``sys.modules``. A
        # cached copy would outlive a submodule that is dropped and imported again (pytester's inline
        # runs restore ``sys.modules``), and ``isinstance`` against the old class would then fail.
        return getattr(importlib.import_module(submodule, package), name)

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(where))

    return __getattr__, __dir__
