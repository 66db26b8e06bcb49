"""The one table of capabilities: each family and service, its config section, CLI and pytest glue.

Configuration (``config.py``) reads ``schema`` to validate ``[tool.prodgate.NAME]``, the
``prodgate`` command (``cli.py``) reads ``cli`` to add subcommands, and the pytest plugin
(``plugin/__init__.py``) reads ``glue`` to load fixtures and collectors. Nothing here imports a
capability: every entry is a module path, imported only by whoever needs it.
"""

from __future__ import annotations

__all__ = ["CAPABILITIES", "FAMILIES", "Capability", "MARKER_HELP"]


class Capability:
    """One row of the table. A plain class, not a dataclass: this module is imported by every
    pytest run, and generating a frozen dataclass's methods costs about half a millisecond."""

    __slots__ = ("name", "schema", "cli", "glue", "marker")

    def __init__(
        self,
        name: str,
        *,
        schema: str | None = None,  # "module:ATTRIBUTE" holding the section's schema
        cli: str | None = None,  # module with ``register(subparsers)``
        glue: tuple[str, ...] = (),  # pytest plugin modules: a family has one (its fixtures and collectors)
        marker: str | None = None,  # help of the family marker; None for a capability that is not a family
    ) -> None:
        self.name = name
        self.schema = schema
        self.cli = cli
        self.glue = glue
        self.marker = marker

    def __repr__(self) -> str:
        return f"Capability({self.name!r}, schema={self.schema!r}, cli={self.cli!r}, glue={self.glue!r})"


CAPABILITIES: tuple[Capability, ...] = (
    Capability("demo", cli="pytest_prodgate.demo.cli"),
    Capability(
        "readiness",
        schema="pytest_prodgate.readiness.config:SCHEMA",
        cli="pytest_prodgate.readiness.cli",
        glue=("pytest_prodgate.plugin.readiness",),
        marker="Gate that decides whether a release may go out (environment, settings, migrations, dependencies)",
    ),
    Capability(
        "data",
        schema="pytest_prodgate.data.config:SCHEMA",
        cli="pytest_prodgate.data.cli",
        glue=("pytest_prodgate.plugin.data",),
        marker="Gate that checks the data is sound (integrity, consistency, calculation accuracy)",
    ),
    Capability(
        "performance",
        schema="pytest_prodgate.performance.config:SCHEMA",
        cli="pytest_prodgate.performance.cli",
        glue=("pytest_prodgate.plugin.performance",),
        marker="Gate judged by load and latency figures (percentiles, error rate, throughput, memory)",
    ),
    Capability(
        "health",
        schema="pytest_prodgate.health.config:SCHEMA",
        cli="pytest_prodgate.health.cli",
        glue=("pytest_prodgate.plugin.health",),
        marker="Gate that probes a running target (endpoints, TLS certificate, security headers)",
    ),
    Capability("deploy", schema="pytest_prodgate.deploy.config:SCHEMA", cli="pytest_prodgate.deploy.cli"),
    Capability("watch", schema="pytest_prodgate.watch.config:SCHEMA", cli="pytest_prodgate.watch.cli"),
    Capability("alerts", schema="pytest_prodgate.watch.config:ALERTS_SCHEMA"),  # shared by watch and deploy
    Capability(
        "report",
        schema="pytest_prodgate.report.config:SCHEMA",
        cli="pytest_prodgate.report.cli",
        glue=("pytest_prodgate.plugin.report", "pytest_prodgate.plugin.node_ids", "pytest_prodgate.plugin.baseline"),
    ),
)

FAMILIES: tuple[str, ...] = tuple(c.name for c in CAPABILITIES if c.marker)
MARKER_HELP: dict[str, str] = {c.name: c.marker for c in CAPABILITIES if c.marker}
