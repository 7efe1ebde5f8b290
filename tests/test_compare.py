"""Comparing two reports: control verdicts and the facts underneath, by meaning."""

from __future__ import annotations

import copy

from hostaudit.compare import classify, compare, compare_facts


def _report(results=(), facts=None, digest="d1", version="0.1.0"):
    return {
        "schema_version": 1,
        "tool": {"name": "hostaudit", "version": version},
        "baseline": {"name": "gcux-qmail", "digest": digest},
        "target": {"mode": "image", "root": "/srv/img"},
        "timing": {"started": "2026-12-01T00:00:00+00:00"},
        "score": 50.0,
        "coverage": {"percent": 100.0},
        "results": [
            {"id": i, "title": i, "severity": sev, "status": st, "message": msg, "evidence": []}
            for i, sev, st, msg in results
        ],
        "facts": facts or {},
    }


def test_pass_to_fail_is_a_new_failure():
    assert classify("pass", "fail") == "new_failure"


def test_fail_to_pass_is_fixed():
    assert classify("fail", "pass") == "fixed"


def test_an_unchanged_status_is_no_change():
    assert classify("fail", "fail") is None


def test_new_high_failures_come_before_other_changes():
    old = _report([("a.low", "low", "pass", ""), ("b.high", "high", "pass", ""), ("c.fixed", "high", "fail", "")])
    new = _report([("a.low", "low", "fail", ""), ("b.high", "high", "fail", ""), ("c.fixed", "high", "pass", "")])
    assert [c["id"] for c in compare(old, new)["controls"]] == ["b.high", "a.low", "c.fixed"]


def test_a_failure_with_a_new_reason_is_listed_as_reason_changed():
    old = _report([("mail.databytes", "high", "fail", "databytes is 10000000")])
    new = _report([("mail.databytes", "high", "fail", "databytes is 20000000")])
    (change,) = compare(old, new)["controls"]
    assert change["change"] == "reason_changed"
    assert change["after"]["message"] == "databytes is 20000000"


def test_a_user_added_at_the_top_is_one_added_record_not_shifted_lines():
    users = [{"name": "root", "uid": 0, "line": 1}, {"name": "tony", "uid": 1000, "line": 2}]
    moved = [{"name": "eve", "uid": 0, "line": 1}] + [{**u, "line": u["line"] + 1} for u in users]
    changes = compare_facts(_report(facts={"passwd": {"users": users}}),
                            _report(facts={"passwd": {"users": moved}}))
    assert changes == [{"fact": "passwd", "key": "users[eve]", "change": "added", "before": None,
                        "after": {"name": "eve", "uid": 0}}]


def test_a_changed_field_names_the_record_and_the_field():
    before = {"fstab": {"entries": [{"mount_point": "/home", "options": ["nosuid", "nodev"]}]}}
    after = copy.deepcopy(before)
    after["fstab"]["entries"][0]["options"] = ["nodev"]
    (change,) = compare_facts(_report(facts=before), _report(facts=after))
    assert (change["key"], change["change"], change["before"]) == ("entries[/home].options", "removed", "nosuid")


def test_a_listener_is_known_by_family_address_and_port_not_by_pid():
    def listeners(pid):
        return {"listeners": {"listeners": [{"family": "tcp", "address": "0.0.0.0", "port": 25, "pid": pid}]}}
    assert compare_facts(_report(facts=listeners(100)), _report(facts=listeners(200))) == []


def test_a_file_walk_meeting_more_files_is_no_change():
    def walk(entries):
        return {"file_walk": {"entries": entries, "filesystems": [{"mount_point": "/", "entries": entries}]}}
    assert compare_facts(_report(facts=walk(513607)), _report(facts=walk(514072))) == []


def test_an_image_walked_from_another_temporary_directory_is_no_change():
    def walk(source):
        return {"file_walk": {"filesystems": [{"mount_point": "/", "fstype": "image", "source": source}]}}
    assert compare_facts(_report(facts=walk("/tmp/hostaudit-image-tkjcmz3b")),
                         _report(facts=walk("/tmp/hostaudit-image-iq_t2a94"))) == []


def test_entries_of_another_fact_are_still_compared():
    def nsswitch(services):
        return {"nsswitch": {"entries": [{"database": "passwd", "services": services}]}}
    (change,) = compare_facts(_report(facts=nsswitch(["files"])), _report(facts=nsswitch(["files", "nis"])))
    assert (change["key"], change["change"], change["after"]) == ("entries[passwd].services", "added", "nis")


def test_a_different_baseline_digest_is_said_first():
    diff = compare(_report(digest="aaa"), _report(digest="bbb"))
    assert diff["baseline_changed"] is True
    assert diff["context"][0].startswith("baseline changed")


def test_identical_reports_have_no_changes():
    report = _report([("x", "high", "pass", "ok")], {"passwd": {"users": [{"name": "root"}]}})
    diff = compare(report, copy.deepcopy(report))
    assert (diff["changed"], diff["controls"], diff["facts"]) == (False, [], [])
