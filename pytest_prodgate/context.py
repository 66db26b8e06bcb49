"""What the ``prodgate`` fixture hands a test: settings, environment, target, the demo service."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from pytest_prodgate.config import ProdgateConfig


@dataclass(frozen=True)
class DemoInfo:
    """The embedded demo service this run started (its address, process and database)."""

    base_url: str
    pid: int
    database_url: str

    def to_dict(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "pid": self.pid, "database_url": self.database_url}


@dataclass(frozen=True)
class Prodgate:
    """The run's merged configuration and target, shared by every gate."""

    config: ProdgateConfig
    base_url: str | None = None
    demo: DemoInfo | None = None

    @property
    def settings(self) -> dict[str, Any]:
        return self.config.settings

    @property
    def environment(self) -> str | None:
        return self.config.environment

    def section(self, name: str) -> dict[str, Any]:
        """One family's table (``performance``, ``health``...) merged for the environment."""
        return self.config.section(name)

    @property
    def database_url(self) -> str | None:
        """``$PRODGATE_DATABASE_URL``, else ``database_url`` from the configuration, else the demo's.

        The variable wins, as ``--base-url`` does over ``base_url``: a deployment sets it per environment
        without editing the project's ``pyproject.toml``.
        """
        configured = os.environ.get("PRODGATE_DATABASE_URL") or self.settings.get("database_url")
        if configured:
            return str(configured)
        return self.demo.database_url if self.demo else None
