"""``prodgate deploy`` tells the channels of ``[tool.prodgate.alerts]`` too (the ones ``prodgate watch`` uses)."""

from __future__ import annotations

import json

from pytest_prodgate.deploy.exitcodes import DeployExit
from tests.deploy_project import PY, Project, project, shop, step  # noqa: F401 (fixtures)
from tests.watch_support import mailbox, receiver


def test_alert_channels_hear_the_outcome_by_severity_when_alerts_are_configured(project: Project) -> None:
    with receiver() as hooks, mailbox() as (smtp_port, box):
        port = hooks.url.rsplit(":", 1)[1]
        project.configure(
            extra=f"""
[tool.prodgate.alerts]
[[tool.prodgate.alerts.webhooks]]
url = "{hooks.url}/everything"

[[tool.prodgate.alerts.webhooks]]
url = "{hooks.url}/critical-only"
severities = ["critical"]

[[tool.prodgate.alerts.apprise]]
url = "mailto://127.0.0.1:{smtp_port}?from=deploy@shop.invalid&to=ops@shop.invalid&mode=insecure"

[[tool.prodgate.alerts.apprise]]
url = "json://127.0.0.1:{port}/apprise"
severities = ["info"]
"""
        )

        done = project.deploy()

        assert done.returncode == DeployExit.DEPLOYED, done.stdout
        assert [path for path, _ in hooks.received if path != "/apprise"] == ["/everything"]
        [everything] = hooks.bodies("/everything")
        assert everything["event"] == "prodgate.deploy"
        assert everything["deployment"]["outcome"] == "deployed and verified"
        [apprise_body] = hooks.bodies("/apprise")
        assert apprise_body["type"] == "success"
        assert apprise_body["title"].endswith(": deployed and verified (exit code 0)")
        [message] = box.messages
        assert message["To"] == "ops@shop.invalid"
        assert message["Subject"].startswith("✅ prodgate deploy to 127.0.0.1:")
        body = message.get_body(("plain",))
        assert body is not None and "- run: passed (exit code 0)" in body.get_content()
        notes = [(n["format"], n["ok"], n["result"]) for n in project.only_record()["notifications"]]
        assert notes == [("json", True, "HTTP 200"), ("apprise", True, "sent"), ("apprise", True, "sent")]
        assert "ops@shop.invalid" not in json.dumps(project.only_record()["notifications"])


def test_a_deploy_that_rolls_back_is_critical_when_a_channel_subscribes_to_critical_only(project: Project) -> None:
    with receiver() as hooks:
        project.configure(
            run=f"{PY} deploy.py 2.0.0 --fault not-ready",
            extra=f"""
[tool.prodgate.alerts]
[[tool.prodgate.alerts.webhooks]]
url = "{hooks.url}/critical-only"
severities = ["critical"]
""",
        )

        done = project.deploy()

        assert done.returncode == DeployExit.VERIFY_FAILED_ROLLED_BACK, done.stdout
        [told] = hooks.bodies("/critical-only")
        assert told["deployment"]["outcome"] == "verification failed, rolled back"


def test_a_bad_alerts_section_is_a_usage_error_naming_file_and_key_when_deploying(project: Project) -> None:
    project.configure(
        extra='[tool.prodgate.alerts]\n[[tool.prodgate.alerts.apprise]]\nurl = "mailto://x"\nseverities = ["loud"]\n'
    )

    done = project.deploy()

    assert done.returncode == DeployExit.USAGE_ERROR, done.stdout + done.stderr
    # config.py words the place of a list item as "[tool.prodgate.alerts.apprise][0.severities][0]"
    assert "[tool.prodgate.alerts.apprise]" in done.stderr and "severities" in done.stderr
    assert "must be one of 'info', 'warning', 'critical', got 'loud'" in done.stderr
    assert "pyproject.toml" in done.stderr and "Traceback" not in done.stderr
