"""``python -m pytest_prodgate`` is the ``prodgate`` command."""

from __future__ import annotations

import sys

from pytest_prodgate.cli import main

sys.exit(main())
