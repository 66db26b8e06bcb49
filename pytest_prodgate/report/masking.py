"""Masking secrets inside what a test run reports: failure representations, captured output, metadata.

Plain Python (duck-typed over pytest's ``TerminalRepr`` dataclasses, so it never imports pytest):
``mask_in_place`` walks a failure representation and replaces every string that holds a secret,
keeping its structure (the traceback still prints as a traceback, the crash line as a crash line).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from pytest_prodgate.redact import MASK, Redactor, is_secret_name

__all__ = ["mask_in_place", "mask_metadata", "mask_pairs", "secret_setting_values"]

# Deep enough for a chained exception's entries and their locals; bounded so a cycle cannot hang us.
_MAX_DEPTH = 12


def _is_repr_object(value: Any) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type) or hasattr(value, "toterminal")


def mask_in_place(value: Any, redactor: Redactor, _depth: int = 0) -> Any:
    """Mask strings inside ``value`` (str, list, tuple, dict, repr dataclass); return the masked value.

    Lists, dicts and dataclass instances are changed in place (tuples and strings are rebuilt),
    so the caller keeps the same object where it can.
    """
    if _depth > _MAX_DEPTH:
        return value
    if isinstance(value, str):
        return redactor.text(value)
    if isinstance(value, list):
        for index, item in enumerate(value):
            value[index] = mask_in_place(item, redactor, _depth + 1)
        return value
    if isinstance(value, tuple):
        return (
            type(value)(*(mask_in_place(v, redactor, _depth + 1) for v in value))
            if hasattr(value, "_fields")
            else tuple(mask_in_place(v, redactor, _depth + 1) for v in value)
        )
    if isinstance(value, dict):
        for key in list(value):
            value[key] = mask_in_place(value[key], redactor, _depth + 1)
        return value
    if _is_repr_object(value):
        for name, item in list(vars(value).items()):
            masked = mask_in_place(item, redactor, _depth + 1)
            if masked is not item:
                try:
                    setattr(value, name, masked)
                except (AttributeError, dataclasses.FrozenInstanceError):
                    pass
        return value
    return value


def mask_pairs(pairs: Iterable[tuple[str, Any]], redactor: Redactor) -> list[tuple[str, Any]]:
    """``(name, value)`` pairs (report sections, user properties) with secret values masked."""
    masked = []
    for name, value in pairs:
        if isinstance(value, str):
            value = (
                MASK
                if is_secret_name(name) and value and not name.startswith(("Captured", "prodgate."))
                else redactor.text(value)
            )
        masked.append((redactor.text(name), value))
    return masked


def mask_metadata(metadata: MutableMapping[str, Any], redactor: Redactor) -> None:
    """Mask pytest-metadata's table in place: values of secret-named keys, and known secret values anywhere."""
    for key in list(metadata):
        value = metadata[key]
        if is_secret_name(str(key)) and isinstance(value, str) and value:
            metadata[key] = MASK
        elif isinstance(value, MutableMapping):
            mask_metadata(value, redactor)
        else:
            metadata[key] = mask_in_place(value, redactor)


def secret_setting_values(settings: Mapping[str, Any]) -> list[str]:
    """String values of configuration keys named like secrets (``api_token = "..."``), at any depth."""
    found: list[str] = []
    for key, value in settings.items():
        if isinstance(value, Mapping):
            found += secret_setting_values(value)
        elif isinstance(value, str) and is_secret_name(str(key)) and key != "secrets":
            found.append(value)
    return found
