"""Score weights by severity; coverage always says how much was decided."""

from audit.model import ControlResult, Result, Severity
from audit.scoring import score


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
