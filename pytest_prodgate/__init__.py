"""pytest-prodgate: production gates written as pytest tests.

The core (thresholds, configuration, gate records, redaction) is plain Python and never imports
pytest; ``pytest_prodgate.plugin`` wires it to pytest.
"""

from __future__ import annotations

from pytest_prodgate.config import ProdgateConfig, load_config
from pytest_prodgate.context import DemoInfo, Prodgate
from pytest_prodgate.errors import ConfigError, GateFailed, ProdgateError, TargetError, ThresholdError
from pytest_prodgate.families import FAMILIES
from pytest_prodgate.gate import Gate, Severity, format_results
from pytest_prodgate.redact import Redactor, mask_headers, mask_url
from pytest_prodgate.thresholds import (
    Threshold,
    ThresholdResult,
    Verdict,
    evaluate,
    format_value,
    parse_duration,
    parse_threshold,
    parse_thresholds,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DemoInfo",
    "FAMILIES",
    "Gate",
    "GateFailed",
    "Prodgate",
    "ProdgateConfig",
    "ProdgateError",
    "Redactor",
    "Severity",
    "TargetError",
    "Threshold",
    "ThresholdError",
    "ThresholdResult",
    "Verdict",
    "__version__",
    "evaluate",
    "format_results",
    "format_value",
    "load_config",
    "mask_headers",
    "mask_url",
    "parse_duration",
    "parse_threshold",
    "parse_thresholds",
]
