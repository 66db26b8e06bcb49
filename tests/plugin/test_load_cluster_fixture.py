"""The ``load`` fixture on a Dask cluster: ``cluster`` in ``[tool.prodgate.performance]`` or ``PRODGATE_CLUSTER``.

The same gate module passes locally and on the cluster; on the cluster its details name the workers.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cluster_support import DaskCluster, dask_cluster
from tests.servers import MisbehavingServer

pytest_plugins = ["pytester"]

GATES = """
import os
import pytest
from pytest_prodgate.performance import Template

@pytest.mark.performance(thresholds=["requests == 400", "error_rate < 1%", "p95 < 5s"])
def test_shop_under_load(load, gate):
    load.run([Template("/", name="home")], users=4, iterations=400)
    cluster = gate.details["load"].get("cluster")
    expected = os.environ.get("EXPECT_WORKERS")
    if expected:
        assert len(cluster["workers"]) == int(expected), cluster
        assert sum(w["requests"] for w in cluster["workers"]) == 400
    else:
        assert cluster is None

@pytest.mark.performance(thresholds=["error_rate < 1%"])
def test_broken(load):
    load.run([Template("/status/500", name="broken")], users=2, iterations=40, smoke=False)
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    with dask_cluster(tmp_path_factory.mktemp("dask"), workers=2) as running:
        yield running


@pytest.fixture(scope="module")
def server() -> Iterator[MisbehavingServer]:
    with MisbehavingServer().running() as running:
        yield running


def test_the_gate_module_passes_locally_when_no_cluster_is_configured(
    pytester: pytest.Pytester, server: MisbehavingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PRODGATE_CLUSTER", raising=False)
    monkeypatch.delenv("EXPECT_WORKERS", raising=False)
    pytester.makepyfile(test_gates=GATES)
    result = pytester.runpytest("--base-url", server.url)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["FAILED test_gates.py::test_broken - error_rate = 100 %, wanted < 1 %*"])


def test_the_gate_module_runs_on_the_cluster_when_the_section_names_it(
    pytester: pytest.Pytester, server: MisbehavingServer, cluster: DaskCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PRODGATE_CLUSTER", raising=False)
    monkeypatch.setenv("EXPECT_WORKERS", "2")
    pytester.makepyprojecttoml(
        f"""
        [tool.prodgate.performance]
        cluster = "{cluster.address}"
        """
    )
    pytester.makepyfile(test_gates=GATES)
    result = pytester.runpytest("--base-url", server.url)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["FAILED test_gates.py::test_broken - error_rate = 100 %, wanted < 1 %*"])


def test_the_gate_module_runs_on_the_cluster_when_prodgate_cluster_is_set(
    pytester: pytest.Pytester, server: MisbehavingServer, cluster: DaskCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRODGATE_CLUSTER", cluster.address)
    monkeypatch.setenv("EXPECT_WORKERS", "2")
    pytester.makepyfile(test_gates=GATES)
    result = pytester.runpytest("--base-url", server.url)
    result.assert_outcomes(passed=1, failed=1)


def test_an_unreachable_cluster_fails_the_gate_with_the_reason_when_configured(
    pytester: pytest.Pytester, server: MisbehavingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.servers import free_port

    monkeypatch.delenv("PRODGATE_CLUSTER", raising=False)
    address = f"tcp://127.0.0.1:{free_port()}"
    pytester.makepyprojecttoml(
        f"""
        [tool.prodgate.performance]
        cluster = "{address}"
        connect_timeout = "2s"
        """
    )
    pytester.makepyfile(test_gates=GATES)
    result = pytester.runpytest("--base-url", server.url, "-k", "shop")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) == 0 and (outcomes.get("failed", 0) + outcomes.get("error", 0)) == 1
    result.stdout.fnmatch_lines([f"*cannot reach the Dask scheduler at {address} within 2s*"])
