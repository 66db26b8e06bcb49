"""A Dask worker preload that makes the worker claim another pytest-prodgate version (the refusal test)."""

from __future__ import annotations

import pytest_prodgate

pytest_prodgate.__version__ = "0.0.0+other"  # type: ignore[misc]
