"""The schema of ``[tool.prodgate.data]`` (and of its per-environment overrides).

```toml
[tool.prodgate.data]
database_url = "postgresql+psycopg://app@db.internal/shop"   # else the base database_url / PRODGATE_DATABASE_URL / the demo's
rules = ["gates/data.toml"]          # rules files collected as `data` gates
sample_size = 10                     # offending rows shown per failed rule
statement_timeout = "60s"            # per query, enforced by the database
severity = { "freshness(*)" = "warning" }   # rule id (or glob) -> blocking | warning
```
"""

from __future__ import annotations

from typing import Any

from pytest_prodgate.config import DURATION, ListOf, OneOf, TableOf

__all__ = ["DEFAULT_SAMPLE_SIZE", "DEFAULT_STATEMENT_TIMEOUT", "SCHEMA"]

# Defaults of sample_size and statement_timeout (seconds), here so the CLI can show them cheaply.
DEFAULT_SAMPLE_SIZE = 10
DEFAULT_STATEMENT_TIMEOUT = 60.0

SCHEMA: dict[str, Any] = {
    "database_url": str,
    "rules": ListOf(str),
    "sample_size": int,
    "statement_timeout": DURATION,
    "severity": TableOf(OneOf("blocking", "warning")),
}
