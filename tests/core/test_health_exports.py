"""``pytest_prodgate.health.__all__`` is sorted, complete and importable."""

from __future__ import annotations

import pytest_prodgate.health as health


def test_health_all_is_sorted_complete_and_resolves_when_imported() -> None:
    assert list(health.__all__) == sorted(health.__all__)
    assert all(hasattr(health, name) for name in health.__all__)
    # The members resolve lazily (PEP 562): dir() lists them beside what the package defines itself.
    public = {
        name for name in dir(health) if not name.startswith("_") and type(getattr(health, name)).__name__ != "module"
    }
    assert public - {"annotations", "TYPE_CHECKING", "lazy_exports"} == set(health.__all__)
