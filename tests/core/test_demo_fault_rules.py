"""The fault rules in-process: names, environment knobs, the error counter, the leak's cap, purity."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction

import pytest

from pytest_prodgate.demo.faults import (
    KNOWN_FAULTS,
    ErrorCounter,
    FaultTuning,
    Leak,
    faults_from_env,
    parse_faults,
)
from pytest_prodgate.errors import ConfigError


def test_fault_names_are_combined_and_stripped_when_valid() -> None:
    assert parse_faults(["slow", " leak ", "", "slow"]) == {"slow", "leak"}
    assert faults_from_env({"PRODGATE_DEMO_FAULTS": "errors, not-ready,"}) == {"errors", "not-ready"}
    assert faults_from_env({}) == frozenset()


def test_unknown_fault_is_a_one_line_error_listing_the_known_ones_when_named() -> None:
    with pytest.raises(ConfigError) as caught:
        faults_from_env({"PRODGATE_DEMO_FAULTS": "slow,fast"})
    assert str(caught.value) == ("PRODGATE_DEMO_FAULTS: unknown fault 'fast'; known faults: " + ", ".join(KNOWN_FAULTS))


def test_tuning_reads_milliseconds_and_shares_when_the_env_sets_them() -> None:
    assert FaultTuning.from_env({}) == FaultTuning(0.3, Fraction(1, 5))
    tuned = FaultTuning.from_env({"PRODGATE_DEMO_SLOW_MS": "1500", "PRODGATE_DEMO_ERROR_RATE": "12.5%"})
    assert tuned == FaultTuning(1.5, Fraction(1, 8))
    assert FaultTuning.from_env({"PRODGATE_DEMO_ERROR_RATE": "0.5"}).error_rate == Fraction(1, 2)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PRODGATE_DEMO_SLOW_MS": "fast"}, "PRODGATE_DEMO_SLOW_MS: 'fast' is not a number"),
        ({"PRODGATE_DEMO_SLOW_MS": "-5"}, "PRODGATE_DEMO_SLOW_MS: -5 is negative"),
        ({"PRODGATE_DEMO_ERROR_RATE": "lots"}, "PRODGATE_DEMO_ERROR_RATE: 'lots' is not a share"),
        ({"PRODGATE_DEMO_ERROR_RATE": "150%"}, "PRODGATE_DEMO_ERROR_RATE: '150%' is outside 0..1"),
    ],
)
def test_tuning_is_a_config_error_when_the_env_is_malformed(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        FaultTuning.from_env(env)


@pytest.mark.parametrize(("rate", "window"), [(Fraction(1, 5), 50), (Fraction(1, 3), 30), (Fraction(3, 10), 100)])
def test_error_counter_fails_an_exact_share_when_the_window_is_a_multiple(rate: Fraction, window: int) -> None:
    counter = ErrorCounter(rate)
    for _ in range(7):  # any starting point
        counter.next_fails()
    failures = sum(counter.next_fails() for _ in range(window))
    assert failures == rate * window


def test_error_counter_never_or_always_fails_when_the_rate_is_0_or_1() -> None:
    assert not any(ErrorCounter(Fraction(0)).next_fails() for _ in range(20))
    assert all(ErrorCounter(Fraction(1)).next_fails() for _ in range(20))


def test_leak_retains_per_request_and_stops_at_the_cap_when_it_grows() -> None:
    leak = Leak(per_request=10_000, cap=35_000)
    for _ in range(5):
        leak.grow()
    assert leak.total == 30_000 and len(leak.retained) == 3
    assert all(chunk[0] == 1 and chunk[4096] == 1 for chunk in leak.retained)


def test_demo_core_imports_without_pytest_when_pytest_is_blocked() -> None:
    code = (
        "import sys; sys.modules['pytest'] = None\n"
        "import pytest_prodgate.demo.server, pytest_prodgate.demo.cli, pytest_prodgate.demo.app\n"
        "print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == "ok", result.stderr
