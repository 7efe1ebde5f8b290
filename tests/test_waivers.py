"""Waivers in a site baseline: what they waive, until when, and what they never hide."""

import datetime
import io
import json
from contextlib import redirect_stderr, redirect_stdout

import pytest
from support import run_check

from hostaudit.baseline import load_checked
from hostaudit.cli import main
from hostaudit.model import Status
from hostaudit.reports.json_report import validate
from hostaudit.scan import TargetSpec, open_target, scan
from hostaudit.waivers import Waiver, apply

TODAY = datetime.date(2026, 6, 1)


def _run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def _site(tmp_path, waivers: str):
    path = tmp_path / "site.yaml"
    path.write_text("name: site\nextends: gcux-qmail\nwaivers:\n" + waivers)
    return path


GAMES_WAIVER = """\
  - control: accounts.removed-users
    reason: the games account owns the legacy score files until the 2027 rebuild
    approved_by: J. Doe (CISO)
    expires: {expires}
    match: {{account: games}}
"""


def _root_with(tmp_root, *users):
    lines = ["root:x:0:0:root:/root:/bin/bash"] + [f"{u}:x:{5 + i}:60::/:/usr/sbin/nologin" for i, u in enumerate(users)]
    tmp_root.write("/etc/passwd", "\n".join(lines) + "\n")
    return tmp_root


def _scan(tmp_root, site, today=TODAY) -> dict:
    baseline = load_checked(str(site))
    with open_target(TargetSpec(root=str(tmp_root.path))) as target:
        report = scan(target, baseline, only=["accounts."], today=today).report
    validate(report)
    return report


def _result(report, control_id):
    return next(r for r in report["results"] if r["id"] == control_id)


def test_active_waiver_shows_waived_with_reason_and_expiry_and_leaves_the_score(tmp_root, tmp_path):
    site = _site(tmp_path, GAMES_WAIVER.format(expires="2026-12-31"))
    report = _scan(_root_with(tmp_root, "games"), site)
    result = _result(report, "accounts.removed-users")
    assert result["status"] == "waived"
    assert "until 2026-12-31" in result["message"] and "legacy score files" in result["message"]
    assert "user games present" in json.dumps(result["evidence"])
    assert report["coverage"]["undecided"]["waived"] == 1
    assert report["counts"]["waived"] == 1 and report["counts"]["fail"] == 0
    [waiver] = report["waivers"]
    assert (waiver["status"], waiver["control"], waiver["match"]) == ("active", "accounts.removed-users", {"account": "games"})
    assert waiver["source"] == f"{site}:4"


def test_waiver_holds_through_its_expiry_day_and_not_the_day_after(tmp_root, tmp_path):
    site = _site(tmp_path, GAMES_WAIVER.format(expires="2026-12-31"))
    root = _root_with(tmp_root, "games")
    assert _result(_scan(root, site, datetime.date(2026, 12, 31)), "accounts.removed-users")["status"] == "waived"
    report = _scan(root, site, datetime.date(2027, 1, 1))
    result = _result(report, "accounts.removed-users")
    assert result["status"] == "fail"
    assert result["message"].endswith("(its waiver expired on 2026-12-31)")
    [waiver] = report["waivers"]
    assert waiver["status"] == "expired"
    assert "expired on 2026-12-31" in waiver["note"]


def test_expired_waiver_is_shown_prominently_on_the_terminal_and_in_html(tmp_root, tmp_path):
    site = _site(tmp_path, GAMES_WAIVER.format(expires="2001-01-01"))
    _root_with(tmp_root, "games")
    code, out, _ = _run("scan", "--root", str(tmp_root.path), "--baseline", str(site), "--only", "accounts.",
                        "--format", "json,html,terminal", "-o", str(tmp_path), "--no-color")
    assert code == 0
    head = out.split("Sections")[0]  # above the sections table, beside the score
    assert "EXPIRED WAIVER accounts.removed-users (account games) expired on 2001-01-01" in " ".join(head.split())
    html = (tmp_path / "report.html").read_text()
    assert '<span class="badge s-fail">expired</span> <strong>accounts.removed-users</strong>' in html
    assert _result(json.loads((tmp_path / "report.json").read_text()), "accounts.removed-users")["status"] == "fail"


def test_baseline_validate_counts_waivers_and_expired_ones(tmp_path):
    site = _site(tmp_path, GAMES_WAIVER.format(expires="2001-01-01"))
    code, out, _ = _run("baseline", "validate", str(site))
    assert code == 0
    assert out.startswith("ok: site: ") and ", 1 waiver(s), 1 EXPIRED (" in out


@pytest.mark.parametrize("expires", ["2026-02-30", "2026-6-1", "next year", "20261231"])
def test_waiver_with_a_malformed_date_is_bad_input_naming_file_and_line(tmp_path, expires):
    site = _site(tmp_path, GAMES_WAIVER.format(expires=expires))
    code, _, err = _run("baseline", "validate", str(site))
    assert code == 2
    assert f"{site}:7:" in err
    assert "expires" in err


def test_waiver_naming_an_unknown_control_is_bad_input_with_a_suggestion(tmp_path):
    site = _site(tmp_path, GAMES_WAIVER.format(expires="2026-12-31").replace("removed-users", "removed-user"))
    code, _, err = _run("scan", "--root", str(tmp_path), "--baseline", str(site), "-o", str(tmp_path), "--quiet")
    assert code == 2
    assert f"{site}:4: unknown control 'accounts.removed-user'" in err
    assert "did you mean 'accounts.removed-users'" in err
    assert not (tmp_path / "report.json").exists()


def _listener(port: int) -> dict:
    return {"proto": "tcp", "port": port, "address": "0.0.0.0", "owner_known": True,
            "process": "relay", "pid": 4242, "user": "qmaild", "family": "ipv4"}


def _ports_result(*ports):
    facts = {"listeners": {"source": "socket table (psutil)", "listeners": [_listener(p) for p in ports]}}
    return run_check("net.tcp-ports", facts=facts, mode="live", params={"allowed_tcp": [22, 25]})


RELAY_2525 = Waiver(control="net.tcp-ports", reason="legacy relay", approved_by="J. Doe",
                    expires=datetime.date(2026, 12, 31), match={"port": 2525}, source="site.yaml:4")


def test_port_waiver_waives_the_failure_when_its_port_is_the_only_one(tmp_path):
    result = _ports_result(22, 2525)
    assert result.status is Status.FAIL
    waived, [outcome] = apply(result, [RELAY_2525], TODAY)
    assert waived.status is Status.WAIVED
    assert outcome.status == "active"


def test_port_waiver_does_not_hide_a_new_offending_port(tmp_path):
    result = _ports_result(22, 2525, 8080)
    kept, [outcome] = apply(result, [RELAY_2525], TODAY)
    assert kept.status is Status.FAIL and kept.evidence == result.evidence
    assert kept.message == result.message + " (not waived: the failure shows more than the waived port 2525)"
    assert outcome.status == "unused"
    assert "8080/tcp open on 0.0.0.0" in outcome.note
    assert "2525/tcp" not in outcome.note


def test_port_waiver_is_not_fooled_by_a_process_named_after_its_port(tmp_path):
    facts = {"listeners": {"source": "socket table (psutil)", "listeners": [
        {**_listener(8080), "process": "2525/tcp"}]}}
    result = run_check("net.tcp-ports", facts=facts, mode="live", params={"allowed_tcp": [22, 25]})
    assert apply(result, [RELAY_2525], TODAY)[0].status is Status.FAIL


def test_account_waiver_covers_its_account_but_not_another(tmp_root, tmp_path):
    site = _site(tmp_path, GAMES_WAIVER.format(expires="2026-12-31"))
    report = _scan(_root_with(tmp_root, "games", "news"), site)
    assert _result(report, "accounts.removed-users")["status"] == "fail"
    [waiver] = report["waivers"]
    assert waiver["status"] == "unused"
    assert "user news present" in waiver["note"]


def test_account_waiver_does_not_match_a_longer_name(tmp_path):
    waiver = Waiver(control="accounts.removed-users", reason="r", approved_by="a",
                    expires=datetime.date(2026, 12, 31), match={"account": "game"})
    result = run_check("accounts.removed-users", facts={"passwd": {
        "path": "/etc/passwd", "users": [{"name": "games", "line": 2}]}})
    assert result.status is Status.FAIL
    assert apply(result, [waiver], TODAY)[0].status is Status.FAIL


def test_waiver_of_a_passing_control_is_reported_unused(tmp_root, tmp_path):
    site = _site(tmp_path, GAMES_WAIVER.format(expires="2026-12-31"))
    report = _scan(_root_with(tmp_root), site)
    assert _result(report, "accounts.removed-users")["status"] == "pass"
    [waiver] = report["waivers"]
    assert (waiver["status"], waiver["note"]) == ("unused", "the control passes")


def test_waiver_never_turns_an_undecided_control_into_waived(tmp_path):
    waiver = Waiver(control="accounts.removed-users", reason="r", approved_by="a",
                    expires=datetime.date(2026, 12, 31))
    result = run_check("accounts.removed-users", facts={"passwd": {"error": "cannot read /etc/passwd"}})
    assert result.status is Status.ERROR
    kept, [outcome] = apply(result, [waiver], TODAY)
    assert kept.status is Status.ERROR
    assert outcome.status == "unused" and "never waived" in outcome.note


def test_two_narrowed_waivers_are_not_added_up(tmp_path):
    relay_2526 = Waiver(control="net.tcp-ports", reason="second relay", approved_by="J. Doe",
                        expires=datetime.date(2026, 12, 31), match={"port": 2526}, source="site.yaml:9")
    kept, outcomes = apply(_ports_result(2525, 2526), [RELAY_2525, relay_2526], TODAY)
    assert kept.status is Status.FAIL
    assert [o.status for o in outcomes] == ["unused", "unused"]
