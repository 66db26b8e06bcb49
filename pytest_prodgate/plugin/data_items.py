"""Rules files named in ``[tool.prodgate.data] rules`` become ``data`` gates, one item per rule (pytest glue).

The files are read and validated when the session starts, so a mistake in one is a usage error
(exit code 4) whose one line names the file, the line and the rule, before anything runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_prodgate.errors import ConfigError, GateFailed, TargetError
from pytest_prodgate.plugin.data import checker_for
from pytest_prodgate.plugin.stash import gate_for, settings

# The rules files' parser and the data engine are imported only when [tool.prodgate.data] names
# rules files, so a run without data gates never loads them.
if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.data.rules import Rule
    from pytest_prodgate.data.rulesfile import RuleEntry

__all__ = ["DataRuleItem", "DataRulesFile"]

_rules_key = pytest.StashKey[dict[Path, list["RuleEntry"]]]()


def _base_dir(config: pytest.Config) -> Path:
    if config.inipath is not None:
        return config.inipath.parent
    return config.rootpath


def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    section = settings(config).section("data")
    parsed: dict[Path, list[RuleEntry]] = {}
    for name in section.get("rules", []):
        from pytest_prodgate.data.rulesfile import load_rules

        path = (_base_dir(config) / name).resolve()
        try:
            parsed[path] = load_rules(path)
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
    config.stash[_rules_key] = parsed


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> DataRulesFile | None:
    parsed = parent.config.stash.get(_rules_key, {})
    if parsed and file_path.resolve() in parsed:
        return DataRulesFile.from_parent(parent, path=file_path)
    return None


class DataRulesFile(pytest.File):
    """A rules file: one ``DataRuleItem`` per rule, named by the rule's id."""

    def collect(self) -> Iterator[DataRuleItem]:
        from pytest_prodgate.data.rulesfile import apply_overrides

        current = settings(self.config)
        severity = current.section("data").get("severity", {})
        for entry in self.config.stash[_rules_key][self.path.resolve()]:
            rule = apply_overrides(entry.rule, current.environment, severity)
            item = DataRuleItem.from_parent(self, name=rule.id, rule=rule, entry=entry)
            item.add_marker(pytest.mark.data(severity=rule.severity))
            yield item


class DataRuleItem(pytest.Item):
    """One data rule run as a gate: figures recorded into its ``Gate``, a miss raises ``GateFailed``."""

    def __init__(self, *, rule: Rule, entry: RuleEntry, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rule = rule
        self.entry = entry

    def runtest(self) -> None:
        result = checker_for(self.config).run(self.rule)
        gate = gate_for(self)
        gate.record_many(result.figures)
        gate.attach("data", [result.to_dict()])
        # The rule's judged thresholds are the gate's, passing or not (summary table, JSON report).
        gate.checked.extend(result.results)
        result.check()

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, (GateFailed, ConfigError, TargetError)):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int, str]:
        # Not the bare name: pytest -v would show the dots of a domain equal to the node id as "::".
        return self.path, self.entry.line - 1, f"rule {self.name}"
