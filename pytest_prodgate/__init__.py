"""pytest-prodgate: production gates written as pytest tests.

The core (thresholds, configuration, gate records, redaction) is plain Python and never imports
pytest; ``pytest_prodgate.plugin`` wires it to pytest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING as _TYPE_CHECKING

from pytest_prodgate.lazy import lazy_exports as _lazy_exports

if _TYPE_CHECKING:  # pragma: no cover
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

# Each name loads its module on first use (PEP 562): importing the package, as pytest does for the
# plugin, costs only what the plugin itself needs.
__getattr__, __dir__ = _lazy_exports(
    __name__,
    {
        ".config": ("ProdgateConfig", "load_config"),
        ".context": ("DemoInfo", "Prodgate"),
        ".errors": ("ConfigError", "GateFailed", "ProdgateError", "TargetError", "ThresholdError"),
        ".families": ("FAMILIES",),
        ".gate": ("Gate", "Severity", "format_results"),
        ".redact": ("Redactor", "mask_headers", "mask_url"),
        ".thresholds": (
            "Threshold",
            "ThresholdResult",
            "Verdict",
            "evaluate",
            "format_value",
            "parse_duration",
            "parse_threshold",
            "parse_thresholds",
        ),
    },
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
