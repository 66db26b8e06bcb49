"""The examples in docs/ run: test modules through pytester, plain snippets with exec."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)
HEADER = re.compile(r"^# (test_\w+\.py)\s+\(expect: ([^)]*)\)")


def examples() -> list[tuple[str, str]]:
    found = []
    for page in sorted(DOCS.glob("*.md")):
        for index, match in enumerate(BLOCK.finditer(page.read_text())):
            found.append((f"{page.name}#{index}", match.group(1)))
    return found


@pytest.mark.parametrize(("where", "code"), examples(), ids=[w for w, _ in examples()])
def test_docs_example_runs_as_documented_when_executed(pytester: pytest.Pytester, where: str, code: str) -> None:
    header = HEADER.match(code)
    if header is None:
        if "pytest" in code and "def test_" in code:
            pytest.fail(f"{where}: a test example needs a '# test_x.py  (expect: passed=N ...)' header")
        exec(compile(code, where, "exec"), {})
        return
    name, expect = header.groups()
    pytester.path.joinpath(name).write_text(code)
    result = pytester.runpytest(name)
    expected = {key: int(value) for key, value in (part.split("=") for part in expect.split())}
    outcomes = {k: v for k, v in result.parseoutcomes().items() if k not in ("warnings", "seconds")}
    assert outcomes == expected, result.stdout.str()
