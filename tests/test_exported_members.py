"""``pytest_prodgate.__all__`` is sorted, complete and importable."""

from __future__ import annotations

import pytest_prodgate


def test_all_is_sorted_and_every_name_resolves_when_imported() -> None:
    assert list(pytest_prodgate.__all__) == sorted(pytest_prodgate.__all__)
    for name in pytest_prodgate.__all__:
        assert hasattr(pytest_prodgate, name), name


def test_public_names_are_all_exported_when_defined() -> None:
    # The package resolves its names on use (PEP 562); dir() lists them beside what it defines itself.
    public = {name for name in dir(pytest_prodgate) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(pytest_prodgate, name)).__name__ == "module"}
    assert public - modules - {"annotations"} == set(pytest_prodgate.__all__) - {"__version__"}
