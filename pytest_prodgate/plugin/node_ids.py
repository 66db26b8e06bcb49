"""Masked node ids: an item's id, as pytest shows and writes it, never holds a secret.

pytest reads an item's id from the item for every output: ``item.nodeid`` goes into the ``-v``
lines (``pytest_runtest_logstart``), each report (the ``-r`` summary, JUnit XML, pytest-html,
``--durations``, the warnings summary, the gate entries) and pytest-xdist's collection, which its
workers send to the controller; ``item.location`` gives the FAILURES and ERRORS headers, and a
test function's ``name`` the gate's name. So once collection is over (``-k`` and ``--deselect``
have used the real ids), each item whose id holds a secret gets a masked one, and every output,
``--lf`` and its cache included, sees only that.

Masking can make two ids equal (``[https://u:pw1@db]`` and ``[https://u:pw2@db]``); those get
``#1``, ``#2``... inside their brackets, in collection order, so ids stay unique and every
pytest-xdist worker, collecting the same items, masks them the same way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Generator, Sequence

import pytest

from pytest_prodgate.plugin.report import redactor_for

__all__ = ["mask_item_ids", "masked_node_ids"]


def _numbered(text: str, number: int) -> str:
    """``text`` with ``#number`` before its closing parameter bracket (or at its end)."""
    close = text.rfind("]")
    if 0 <= text.find("[") < close:
        return f"{text[:close]}#{number}{text[close:]}"
    return f"{text}#{number}"


def _shown(text: str, mask: Callable[[str], str], number: int) -> str:
    return _numbered(mask(text), number) if number else mask(text)


def _unique_masks(node_ids: Sequence[str], mask: Callable[[str], str]) -> dict[str, tuple[str, int]]:
    """Each id that holds a secret: its masked form and the number that keeps it unique (0: none needed)."""
    originals = list(dict.fromkeys(node_ids))
    changed = {node_id: shown for node_id in originals if (shown := mask(node_id)) != node_id}
    taken = set(originals) - set(changed)
    clashes = Counter(changed.values())
    numbers: Counter[str] = Counter()
    unique: dict[str, tuple[str, int]] = {}
    for node_id, shown in changed.items():
        if clashes[shown] == 1 and shown not in taken:
            unique[node_id] = (shown, 0)
        else:
            candidate = shown
            while candidate == shown or candidate in taken:
                numbers[shown] += 1
                candidate = _numbered(shown, numbers[shown])
            unique[node_id] = (candidate, numbers[shown])
        taken.add(unique[node_id][0])
    return unique


def masked_node_ids(node_ids: Sequence[str], mask: Callable[[str], str]) -> dict[str, str]:
    """Each id holding a secret mapped to its masked form, unique among ``node_ids`` (others are left out)."""
    return {node_id: shown for node_id, (shown, _) in _unique_masks(node_ids, mask).items()}


def _set_node_id(item: pytest.Item, node_id: str) -> None:
    try:
        from _pytest.nodeid import NodeId  # pytest 9 keeps the id as a NodeId in ``_id``
    except ImportError:  # pragma: no cover - pytest 8
        item._nodeid = node_id  # type: ignore[attr-defined]
        return
    item._id = NodeId.parse(node_id)


def mask_item_ids(items: Sequence[pytest.Item], mask: Callable[[str], str]) -> None:
    """Give each item whose id holds a secret a masked, unique id and a masked location."""
    masked = _unique_masks([item.nodeid for item in items], mask)
    for item in items:
        if item.nodeid not in masked:
            continue
        shown, number = masked[item.nodeid]
        path, lineno, domain = item.location
        item.__dict__["location"] = (mask(path), lineno, _shown(domain, mask, number))  # a cached property
        if isinstance(item, pytest.Function):
            # The gate's name (the gate table, JSON, Markdown); a function is found by ``originalname``.
            item.name = _shown(item.name, mask, number)
        _set_node_id(item, shown)


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> Generator[None, None, None]:
    """After every other plugin chose and grouped the items (``--lf`` filters later, on the masked ids)."""
    result = yield
    mask_item_ids(items, redactor_for(config).text)
    return result
