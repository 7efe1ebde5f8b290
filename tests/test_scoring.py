"""Score weights by severity; coverage always says how much was decided."""

from hostaudit.model import ControlResult, Result, Severity
from hostaudit.scoring import score


def _r(cid, severity, result, section="mail"):
    return ControlResult(id=cid, title=cid, section=section, severity=Severity(severity), result=result)


def test_score_weights_passes_by_severity():
    results = [
        _r("a.x", "high", Result.passed("ok")),
        _r("a.y", "medium", Result.failed("no")),
        _r("a.z", "low", Result.passed("ok")),
    ]
    assert score(results)["score"] == round(100 * 11 / 16, 1)


def test_errors_count_against_the_score():
    results = [_r("a.x", "high", Result.passed("ok")), _r("a.y", "high", Result.error("unreadable"))]
    assert score(results)["score"] == 50.0


def test_not_applicable_and_manual_stay_out_of_the_score_but_show_in_coverage():
    results = [
        _r("a.x", "high", Result.passed("ok")),
        _r("a.y", "high", Result.not_applicable("no kernel")),
        _r("a.z", "high", Result.manual("look at the BIOS")),
    ]
    summary = score(results)
    assert summary["score"] == 100.0
    assert summary["coverage"] == {
        "selected": 3, "decided": 1, "percent": 33.3,
        "undecided": {"not_applicable": 1, "manual": 1},
    }


def test_info_controls_do_not_move_the_score():
    results = [_r("a.x", "low", Result.passed("ok")), _r("a.y", "info", Result.failed("no"))]
    assert score(results)["score"] == 100.0


def test_nothing_scored_gives_no_score_rather_than_100():
    assert score([_r("a.x", "high", Result.manual("ask"))])["score"] is None


def test_sections_are_scored_separately():
    results = [
        _r("mail.a", "high", Result.passed("ok"), section="mail"),
        _r("ssh.a", "high", Result.failed("no"), section="ssh"),
    ]
    sections = score(results)["sections"]
    assert sections["mail"]["score"] == 100.0
    assert sections["ssh"]["score"] == 0.0


def test_combined_views_take_the_worst_status_and_keep_all_evidence():
    from hostaudit.model import Status, ev

    config = Result.passed("Port 2112", evidence=[ev("/etc/ssh/sshd_config", "Port 2112", 14)], expected="2112")
    wire = Result.failed("22/tcp answers SSH", evidence=[ev("nmap 192.0.2.2", "22/tcp open ssh")], expected="2112")
    combined = Result.combine(config, wire)
    assert combined.status is Status.FAIL
    assert [e.where for e in combined.evidence] == ["/etc/ssh/sshd_config", "nmap 192.0.2.2"]
    assert combined.expected == "2112"


def test_combined_view_ignores_not_applicable_parts():
    from hostaudit.model import Status

    combined = Result.combine(Result.not_applicable("needs --network"), Result.passed("ok"))
    assert combined.status is Status.PASS and combined.message == "ok"
