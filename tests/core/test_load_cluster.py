"""Distributed load on a real Dask cluster (a scheduler and two workers as subprocesses, 127.0.0.1).

The shards of one plan sum exactly to it, the merged percentiles are those of the union of the
workers' histograms, a worker killed mid-run fails the run naming it, an unreachable scheduler is
one line, a worker with another version is refused, an abort stops every worker.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hdrh.histogram import HdrHistogram

from pytest_prodgate.cli import main
from pytest_prodgate.errors import ClusterError, ConfigError
from pytest_prodgate.performance import Template, run_load
from pytest_prodgate.performance.plan import make_plan
from pytest_prodgate.performance.recorder import new_histogram
from pytest_prodgate.performance.result import PERCENTILES
from tests.cluster_support import DaskCluster, dask_cluster
from tests.servers import MisbehavingServer, free_port, uvicorn_server
from tests.waiting import wait_for

PRELOAD_OTHER_VERSION = str(Path(__file__).parent.parent / "cluster_other_version.py")


class CountingApp:
    """An ASGI app answering 200 at once and counting what it answered (to act mid-run)."""

    def __init__(self) -> None:
        self.requests = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.requests += 1
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    with dask_cluster(tmp_path_factory.mktemp("dask"), workers=2) as running:
        yield running


@pytest.fixture(scope="module")
def target() -> Iterator[str]:
    with uvicorn_server() as url:
        yield url


@pytest.fixture(scope="module")
def misbehaving() -> Iterator[MisbehavingServer]:
    with MisbehavingServer().running() as running:
        yield running


def test_shards_sum_exactly_to_the_plan_when_two_workers_share_an_iteration_count(
    cluster: DaskCluster, target: str
) -> None:
    result = run_load(target + "/", [Template("/", name="home")], users=4, iterations=3000, cluster=cluster.address)
    assert result.failure is None, result.failure
    assert result.figures["requests"] == 3000
    assert result.scenarios["home"].histogram.get_total_count() == 3000
    assert sum(p.requests for p in result.series) == 3000
    assert result.cluster is not None
    workers = result.cluster["workers"]
    assert sorted(w["address"] for w in workers) == sorted(cluster.client.nthreads())
    assert [w["requests"] for w in workers] == [1500, 1500]
    assert all(w["lost"] is None and w["generator_cpu"] > 0 for w in workers)
    assert all(abs(w["clock_offset"]) < 1.0 for w in workers)  # one machine: one clock


def test_merged_percentiles_equal_those_of_the_union_when_worker_histograms_are_added(
    cluster: DaskCluster, target: str
) -> None:
    result = run_load(target + "/delay", users=6, iterations=600, cluster=cluster.address, smoke=False)
    assert result.cluster is not None
    union = new_histogram()
    for worker in result.cluster["workers"]:
        union.add(HdrHistogram.decode(worker["hdr"].encode("ascii")))  # the encoded form, as sent
    merged = result.overall.histogram
    assert union.get_total_count() == merged.get_total_count() == 600
    for percentile in PERCENTILES.values():
        assert merged.get_value_at_percentile(percentile) == union.get_value_at_percentile(percentile)
    assert merged.get_max_value() == union.get_max_value()


def test_the_cli_runs_one_merged_result_when_given_a_cluster(cluster: DaskCluster, target: str, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    command = [sys.executable, "-m", "pytest_prodgate.cli", "load", target + "/", "--cluster", cluster.address]
    command += ["--users", "10", "--duration", "2s", "--json", str(out), "-q", "-t", "error_rate < 1%"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(out.read_text())
    addresses = sorted(w["address"] for w in data["cluster"]["workers"])
    assert addresses == sorted(cluster.client.nthreads())
    assert data["figures"]["requests"] == sum(w["requests"] for w in data["cluster"]["workers"]) > 0
    assert data["thresholds"][0]["verdict"] == "pass" and data["passed"] is True
    for address in addresses:
        assert f"worker {address}  5 of 10 users" in done.stdout


def test_thresholds_judge_the_merged_figures_when_one_fails_on_the_cluster(
    cluster: DaskCluster, target: str, tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    code = main(
        ["load", target + "/", "--cluster", cluster.address, "--iterations", "400", "--users", "4"]
        + ["-q", "--json", str(out), "-t", "requests > 400"]
    )
    assert code == 1
    judged = json.loads(out.read_text())["thresholds"][0]
    assert judged["verdict"] == "fail" and judged["measured"] == 400


def test_prodgate_cluster_is_used_when_the_option_is_not_given(
    cluster: DaskCluster, target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRODGATE_CLUSTER", cluster.address)
    out = tmp_path / "r.json"
    assert main(["load", target + "/", "--iterations", "200", "--users", "2", "-q", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["cluster"]["scheduler"] == cluster.address
    assert data["figures"]["requests"] == 200


def test_an_abort_stops_every_worker_when_a_threshold_can_no_longer_pass(
    cluster: DaskCluster, misbehaving: MisbehavingServer
) -> None:
    result = run_load(
        misbehaving.url,
        [Template("/status/500", name="broken")],
        users=4,
        duration="60s",
        smoke=False,
        abort_on_fail=True,
        thresholds=["error_rate < 1%"],
        cluster=cluster.address,
    )
    assert result.aborted is not None and "error_rate can no longer pass" in result.aborted
    assert result.cluster is not None
    for worker in result.cluster["workers"]:
        assert worker["lost"] is None
        assert worker["duration"] < 60.0  # stopped by the abort, not by the plan's end


def test_an_unreachable_scheduler_is_one_line_when_nothing_listens(
    target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    code = main(["load", target + "/", "--cluster", address, "--connect-timeout", "2s", "-q"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"prodgate: cannot reach the Dask scheduler at {address} within 2s")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_cluster_address_without_a_scheme_is_a_usage_error_when_given() -> None:
    with pytest.raises(ConfigError) as caught:
        make_plan("http://127.0.0.1:1/", cluster="127.0.0.1:8786")
    assert caught.value.where == "cluster" and "'127.0.0.1:8786' is not a Dask scheduler address" in str(caught.value)
    assert main(["load", "http://127.0.0.1:1/", "--cluster", "127.0.0.1:8786", "-q"]) == 4


def test_engine_processes_per_worker_are_a_usage_error_when_the_workers_are_daemonic(
    cluster: DaskCluster, target: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        run_load(target + "/", users=4, iterations=100, workers=2, cluster=cluster.address)
    assert caught.value.where == "workers"
    assert "DASK_DISTRIBUTED__WORKER__DAEMON=False" in str(caught.value)
    for address in cluster.client.nthreads():
        assert address in str(caught.value)


def test_a_worker_with_another_version_is_refused_when_it_joins(tmp_path: Path, target: str) -> None:
    with dask_cluster(tmp_path, workers=1, worker_args=[["--preload", PRELOAD_OTHER_VERSION]]) as other:
        (address,) = other.client.nthreads()
        with pytest.raises(ClusterError) as caught:
            run_load(target + "/", users=2, iterations=10, cluster=other.address)
    message = str(caught.value)
    assert f"{address} runs pytest-prodgate 0.0.0+other" in message
    import pytest_prodgate

    assert f"this coordinator runs {pytest_prodgate.__version__}" in message


def test_a_worker_killed_mid_run_fails_the_run_naming_it_when_it_is_lost(tmp_path: Path) -> None:
    app = CountingApp()
    with uvicorn_server(app) as url, dask_cluster(tmp_path, workers=2) as doomed:
        pids = doomed.worker_pids()
        victim = sorted(pids)[0]
        out = tmp_path / "r.json"
        command = [sys.executable, "-m", "pytest_prodgate.cli", "load", url + "/", "--cluster", doomed.address]
        command += ["--users", "4", "--duration", "8s", "-q", "--json", str(out)]
        run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_for(
                lambda: app.requests > 200 or run.poll() is not None, what="the cluster's load reaching the target"
            )
            os.kill(pids[victim], signal.SIGKILL)
            stdout, stderr = run.communicate(timeout=8 + 10)  # the run's duration plus 10 s
        finally:
            if run.poll() is None:
                run.kill()
                run.wait(10)
    assert run.returncode == 1, stdout + stderr
    assert f"failed: worker {victim} lost (it left the cluster mid-run): 2 of 4 users (50% of the load)" in stdout
    data = json.loads(out.read_text())
    assert data["failure"].startswith(f"worker {victim} lost")
    (survivor,) = [w for w in data["cluster"]["workers"] if w["address"] != victim]
    assert survivor["lost"] is None and survivor["requests"] > 0
