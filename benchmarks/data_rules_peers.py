"""The peers of the data-rules benchmark: dbt, Great Expectations and Soda Core, each in its own venv.

``benchmarks/data_rules.py`` imports ``install`` and ``run_peer`` from here. The peers are never
project dependencies: ``install`` creates one virtual environment per peer under the cache folder
(``~/.cache/prodgate-bench`` unless ``$PRODGATE_BENCH_CACHE``) with the peer's ordinary pip
packages, and ``run_peer`` runs this same file with that venv's Python (``python
data_rules_peers.py gx|soda < spec.json``), which prints one JSON object: seconds per rule
(median of the repeats, the peer's own validation call only, setup excluded) and the peer
process's peak RSS. dbt runs as its own CLI (``dbt test``), timed per test from its
``run_results.json``.

Which check of each peer matches which rule (``None``: the peer has no such check):
dbt's generic tests (unique, not_null, accepted_values, relationships), Great Expectations'
``Expect*`` classes and ``UnexpectedRowsExpectation`` (its way to run a row predicate), Soda's
SodaCL checks (missing/duplicate/invalid counts, freshness, reference checks, failed rows).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CACHE = Path(os.environ.get("PRODGATE_BENCH_CACHE", Path.home() / ".cache" / "prodgate-bench"))

# pip requirements per peer. dbt-core 1.10+ pulls a parser wheel from GitHub at build time, so 1.9.
PACKAGES: dict[str, list[str]] = {
    "dbt": ["dbt-core>=1.8,<1.10", "dbt-postgres>=1.8,<1.10"],
    "gx": ["great_expectations>=1.0,<2", "sqlalchemy>=2", "psycopg2-binary>=2.9", "pymysql>=1.0"],
    "soda": ["soda-core-postgres>=3.3,<4", "soda-core-mysql>=3.3,<4"],
}
# Installed after, against the peer's own pin: soda-core-mysql pins mysql-connector-python 8.0.30,
# which cannot connect to MariaDB 10.6+ ("Character set 'utf8' unsupported").
OVERRIDES: dict[str, list[str]] = {"soda": ["mysql-connector-python>=8.3,<9"]}

# The backends each peer can check (dbt-postgres only; Soda Core has no SQLite data source).
BACKENDS: dict[str, tuple[str, ...]] = {
    "dbt": ("postgresql",),
    "gx": ("sqlite", "postgresql", "mariadb"),
    "soda": ("postgresql", "mariadb"),
}

NO_TELEMETRY = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1", "SODA_TELEMETRY": "false"}


def venv_python(peer: str) -> Path:
    return CACHE / f"venv-{peer}" / "bin" / "python"


def install(peer: str) -> str | None:
    """Create the peer's venv and install it once; the reason when that fails (the peer is then skipped)."""
    python = venv_python(peer)
    marker = CACHE / f"venv-{peer}" / "installed.json"
    if marker.exists() and json.loads(marker.read_text()) == PACKAGES[peer] + OVERRIDES.get(peer, []):
        return None
    CACHE.mkdir(parents=True, exist_ok=True)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(python.parent.parent)], check=True, timeout=600)
    for packages in (PACKAGES[peer], OVERRIDES.get(peer, [])):
        if not packages:
            continue
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *packages], capture_output=True, text=True, timeout=1800
        )
        if done.returncode:
            lines = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith("WARNING")]
            return f"pip install {' '.join(packages)} failed: {lines[-1] if lines else done.returncode}"
    marker.write_text(json.dumps(PACKAGES[peer] + OVERRIDES.get(peer, [])))
    return None


def version(peer: str) -> str:
    """The peer's name and installed version, for the results' header."""
    distribution = {"dbt": "dbt-postgres", "gx": "great_expectations", "soda": "soda-core"}[peer]
    code = f"from importlib.metadata import version; print('{distribution}', version('{distribution}'))"
    done = subprocess.run([str(venv_python(peer)), "-c", code], capture_output=True, text=True, timeout=120)
    return done.stdout.strip() or f"{distribution} (version unknown)"


# ---------------------------------------------------------------------------------------------
# What each peer runs for each rule of the benchmark (see RULES in data_rules.py).


def gx_checks(cutoff: str, stale_before: str) -> dict[str, tuple[str, str, dict[str, Any]] | None]:
    """rule -> (table, expectation class, keyword arguments)."""
    return {
        "row_count": ("orders", "ExpectTableRowCountToBeBetween", {"min_value": 1}),
        "not_null": ("orders", "ExpectColumnValuesToNotBeNull", {"column": "customer_id"}),
        "unique": ("orders", "ExpectColumnValuesToBeUnique", {"column": "ref"}),
        "accepted_values": (
            "orders",
            "ExpectColumnValuesToBeInSet",
            {"column": "status", "value_set": ["paid", "shipped", "delivered"]},
        ),
        "range": (
            "order_items",
            "ExpectColumnValuesToBeBetween",
            {"column": "quantity", "min_value": 1, "max_value": 100},
        ),
        "expression": (
            "order_items",
            "UnexpectedRowsExpectation",
            {"unexpected_rows_query": "SELECT id FROM {batch} WHERE NOT (quantity * unit_price_cents >= 0)"},
        ),
        "freshness": ("orders", "ExpectColumnMaxToBeBetween", {"column": "created_at", "min_value": stale_before}),
        "no_future": ("orders", "ExpectColumnValuesToBeBetween", {"column": "created_at", "max_value": cutoff}),
        "relationship": None,
        "reconcile": None,
        "sql": (
            "orders",
            "UnexpectedRowsExpectation",
            {"unexpected_rows_query": "SELECT id, total_cents FROM {batch} WHERE total_cents < 0"},
        ),
    }


def soda_checks(cutoff: str) -> dict[str, str | None]:
    """rule -> the SodaCL document of the matching check."""
    return {
        "row_count": "checks for orders:\n  - row_count > 0\n",
        "not_null": "checks for orders:\n  - missing_count(customer_id) = 0\n",
        "unique": "checks for orders:\n  - duplicate_count(ref) = 0\n",
        "accepted_values": (
            "checks for orders:\n  - invalid_count(status) = 0:\n      valid values: [paid, shipped, delivered]\n"
        ),
        "range": "checks for order_items:\n  - invalid_count(quantity) = 0:\n      valid min: 1\n      valid max: 100\n",
        "expression": (
            "checks for order_items:\n  - failed rows:\n      fail condition: NOT (quantity * unit_price_cents >= 0)\n"
        ),
        "freshness": "checks for orders:\n  - freshness(created_at) < 30d\n",
        "no_future": f"checks for orders:\n  - failed rows:\n      fail condition: created_at > '{cutoff}'\n",
        "relationship": "checks for order_items:\n  - values in (order_id) must exist in orders (id)\n",
        "reconcile": None,
        "sql": (
            "checks for orders:\n  - failed rows:\n      fail query: |\n"
            "        SELECT id, total_cents FROM orders WHERE total_cents < 0\n"
        ),
    }


DBT_TESTS = {
    "not_null": "source_not_null_bench_orders_customer_id",
    "unique": "source_unique_bench_orders_ref",
    "accepted_values": "source_accepted_values_bench_orders_status",
    "relationship": "source_relationships_bench_order_items_order_id",
}


# ---------------------------------------------------------------------------------------------
# Run from the benchmark (project venv).


def run_peer(peer: str, spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run one peer against one seeded database; ``{"seconds": {rule: s}, "found": {...}, "peak_rss_mb": ...}``."""
    if peer == "dbt":
        return _run_dbt(spec, timeout)
    done = subprocess.run(
        [str(venv_python(peer)), __file__, peer],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **NO_TELEMETRY},
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        raise RuntimeError(f"{peer} exited {done.returncode}: {done.stderr.strip().splitlines()[-3:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _run_dbt(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    schema = spec["schema"]
    with tempfile.TemporaryDirectory(prefix="prodgate-bench-dbt-") as folder:
        project = Path(folder)
        (project / "models").mkdir()
        (project / "dbt_project.yml").write_text('name: bench\nversion: "1.0"\nconfig-version: 2\nprofile: bench\n')
        (project / "profiles.yml").write_text(
            "bench:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      host: 127.0.0.1\n"
            f"      port: 5432\n      user: postgres\n      password: ''\n      dbname: test\n      schema: {schema}\n"
            "      threads: 1\n"
        )
        (project / "models" / "sources.yml").write_text(
            "version: 2\nsources:\n  - name: bench\n"
            f"    schema: {schema}\n    tables:\n"
            "      - name: orders\n        columns:\n"
            "          - name: customer_id\n            tests: [not_null]\n"
            "          - name: ref\n            tests: [unique]\n"
            "          - name: status\n            tests:\n              - accepted_values:\n"
            "                  values: [paid, shipped, delivered]\n"
            "      - name: order_items\n        columns:\n"
            "          - name: order_id\n            tests:\n              - relationships:\n"
            "                  to: source('bench', 'orders')\n                  field: id\n"
        )
        dbt = venv_python("dbt").parent / "dbt"
        times: dict[str, list[float]] = {rule: [] for rule in DBT_TESTS}
        found: dict[str, Any] = {}
        for _ in range(spec["repeat"]):
            done = subprocess.run(
                [str(dbt), "test", "--threads", "1", "--project-dir", folder, "--profiles-dir", folder],
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd=folder,
                env={**os.environ, **NO_TELEMETRY},
            )
            results_file = project / "target" / "run_results.json"
            if not results_file.exists():
                raise RuntimeError(f"dbt test exited {done.returncode}: {done.stdout.strip().splitlines()[-3:]}")
            for node in json.loads(results_file.read_text())["results"]:
                for rule, name in DBT_TESTS.items():
                    if node["unique_id"].split(".")[2].startswith(name):
                        times[rule].append(node["execution_time"])
                        found[rule] = node.get("failures")
        return {
            "seconds": {rule: statistics.median(ts) for rule, ts in times.items() if ts},
            "found": found,
            "peak_rss_mb": None,
        }


# ---------------------------------------------------------------------------------------------
# Run inside the peer's venv.


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(repeat: int, call: Any) -> tuple[float, Any]:
    seconds, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def _main_gx(spec: dict[str, Any]) -> dict[str, Any]:
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_sql(name="bench", connection_string=spec["url"])
    batches: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    found: dict[str, Any] = {}
    for rule, check in gx_checks(spec["cutoff"], spec["stale_before"]).items():
        if check is None:
            continue
        table, name, kwargs = check
        if table not in batches:
            asset = source.add_table_asset(name=table, table_name=table, schema_name=spec.get("schema"))
            batches[table] = asset.add_batch_definition_whole_table(f"{table}-all").get_batch()
        expectation = getattr(gx.expectations, name)(**kwargs)
        batch = batches[table]
        try:
            seconds[rule], result = _timed(spec["repeat"], lambda b=batch, e=expectation: b.validate(e))
            found[rule] = {"success": result.success, "unexpected": (result.result or {}).get("unexpected_count")}
        except Exception as exc:  # a peer's failure is a finding of the benchmark, not its end
            found[rule] = {"error": f"{type(exc).__name__}: {str(exc)[:120]}"}
    return {"seconds": seconds, "found": found, "peak_rss_mb": _peak_rss_mb()}


def _main_soda(spec: dict[str, Any]) -> dict[str, Any]:
    from soda.scan import Scan

    if spec["backend"] == "postgresql":
        source = (
            "data_source bench:\n  type: postgres\n  host: 127.0.0.1\n  port: '5432'\n  username: postgres\n"
            f"  password: ''\n  database: test\n  schema: {spec['schema']}\n"
        )
    else:
        source = (
            "data_source bench:\n  type: mysql\n  host: 127.0.0.1\n  port: '3306'\n  username: root\n"
            f"  password: ''\n  database: {spec['schema']}\n"
        )
    seconds: dict[str, float] = {}
    found: dict[str, Any] = {}
    for rule, checks in soda_checks(spec["cutoff"]).items():
        if checks is None:
            continue

        def scan(checks: str = checks) -> Scan:
            runner = Scan()
            runner.set_data_source_name("bench")
            runner.add_configuration_yaml_str(source)
            runner.add_sodacl_yaml_str(checks)
            runner.execute()
            return runner

        took, done = _timed(spec["repeat"], scan)
        outcomes = [c.get("outcome") for c in done.get_scan_results().get("checks", [])]
        if done.has_error_logs():
            errors = [line for line in done.get_logs_text().splitlines() if line.startswith("ERROR")]
            found[rule] = {"error": (errors or ["error"])[0][:160]}
        else:
            seconds[rule] = took
            found[rule] = {"outcomes": outcomes}
    return {"seconds": seconds, "found": found, "peak_rss_mb": _peak_rss_mb()}


if __name__ == "__main__":
    job = json.loads(sys.stdin.read())
    runner = {"gx": _main_gx, "soda": _main_soda}[sys.argv[1]]
    print(json.dumps(runner(job), default=str))
