"""Collect on the target, evaluate elsewhere: fact bundles and the collect/evaluate commands."""

import gzip
import io
import json
import os
from contextlib import redirect_stderr, redirect_stdout

import jsonschema
import pytest

from hostaudit import __version__
from hostaudit import bundle as bundles
from hostaudit.baseline import load
from hostaudit.cli import main
from hostaudit.facts import FactError
from hostaudit.host import LiveHost
from hostaudit.probes import sockets
from hostaudit.scan import TargetSpec, collect, evaluate, open_target, plan

SHADOW = "root:$6$Wq9hT0nL3xYb$Gm5x0qQF0b6H1vJ2V1o3Qd9sHn2yXcJ7tq7N4rTq8b4K0z1mR2cS3dF4gH5jK6:19000:0:99999:7:::\n"


def _run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def _mail_root(tmp_root):
    tmp_root.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\ngames:x:5:60::/usr/games:/bin/sh\n")
    tmp_root.write("/etc/group", "root:x:0:\nwheel:x:10:\n")
    tmp_root.write("/etc/shadow", SHADOW, mode=0o400)
    tmp_root.write("/etc/fstab", "//nas/backup /mnt/b cifs username=bk,password=hunter2,ro 0 0\n")
    tmp_root.write("/var/qmail/control/databytes", "50000000\n")
    tmp_root.write("/etc/crontab", "0 3 * * * root mysqldump --password=s3cret mail > /b.sql\n")
    return tmp_root


def _verdicts(report):
    return [(r["id"], r["status"], r["message"], r["evidence"]) for r in report["results"]]


def _collect_to(path, root, *extra):
    code, _, err = _run("collect", "--root", root.path, "-o", path, "-q", *extra)
    assert code == 0, err
    return path


def test_evaluate_of_a_bundle_gives_the_verdicts_and_evidence_scan_gives(tmp_root, tmp_path):
    _mail_root(tmp_root)
    (tmp_path / "scan").mkdir()
    (tmp_path / "eval").mkdir()
    bundle = _collect_to(tmp_path / "facts.json", tmp_root)
    assert _run("scan", "--root", tmp_root.path, "-o", tmp_path / "scan", "--format", "json")[0] in (0, 1)
    assert _run("evaluate", bundle, "-o", tmp_path / "eval", "--format", "json")[0] in (0, 1)
    scanned = json.loads((tmp_path / "scan/report.json").read_text())
    evaluated = json.loads((tmp_path / "eval/report.json").read_text())
    assert _verdicts(evaluated) == _verdicts(scanned)
    assert evaluated["facts"] == scanned["facts"]
    assert (evaluated["score"], evaluated["coverage"]) == (scanned["score"], scanned["coverage"])


def test_the_bundle_holds_exactly_the_facts_the_selected_checks_need(tmp_root, tmp_path):
    _mail_root(tmp_root)
    path = _collect_to(tmp_path / "facts.json", tmp_root, "--only", "mail.databytes")
    bundle = bundles.load(str(path))
    with open_target(TargetSpec(root=str(tmp_root.path))) as target:
        needed = plan(load("gcux-qmail"), target, only=["mail.databytes"]).facts
    assert sorted(bundle["facts"]) == sorted(needed)
    assert bundle["collector"]["version"] == __version__
    assert bundle["target"]["root"] == str(tmp_root.path) and bundle["target"]["mode"] == "image"


def test_the_bundle_is_private_and_matches_its_schema(tmp_root, tmp_path):
    _mail_root(tmp_root)
    path = _collect_to(tmp_path / "facts.json", tmp_root)
    assert os.stat(path).st_mode & 0o777 == 0o600
    jsonschema.Draft202012Validator(bundles.schema()).validate(json.loads(path.read_text()))


def test_the_bundle_carries_no_secret_of_the_target(tmp_root, tmp_path):
    _mail_root(tmp_root)
    text = _collect_to(tmp_path / "facts.json", tmp_root).read_text()
    assert "hunter2" not in text and "s3cret" not in text and "Gm5x0qQF0b6" not in text
    assert "password=<redacted>" in text


def test_a_gzip_bundle_is_written_and_read_back(tmp_root, tmp_path):
    _mail_root(tmp_root)
    path = _collect_to(tmp_path / "facts.json.gz", tmp_root, "--only", "mail.")
    assert bundles.load(str(path))["facts"] == json.loads(gzip.decompress(path.read_bytes()))["facts"]


def test_a_fact_that_could_not_be_read_round_trips_as_an_error(tmp_root, tmp_path):
    _mail_root(tmp_root)
    os.unlink(tmp_root.path / "etc/fstab")
    os.mkfifo(tmp_root.path / "etc/fstab")
    path = _collect_to(tmp_path / "facts.json", tmp_root, "--only", "fs.")
    bundle = bundles.load(str(path))
    reason = "cannot read /etc/fstab: is a FIFO, not a regular file"
    assert bundle["facts"]["fstab"] == {"error": reason}
    assert bundles.facts_of(bundle).values["fstab"] == FactError(reason)


def test_a_fact_missing_from_the_bundle_makes_its_checks_error_naming_it(tmp_root):
    _mail_root(tmp_root)
    baseline = load("gcux-qmail")
    with open_target(TargetSpec(root=str(tmp_root.path))) as target:
        bundle = collect(target, baseline, only=["mail.databytes"])
    del bundle["facts"]["qmail_control"]
    result = evaluate(bundle, baseline, only=["mail.databytes"]).report["results"][0]
    assert result["status"] == "error"
    assert "qmail_control" in result["message"]


def test_evaluate_gates_like_scan(tmp_root, tmp_path):
    _mail_root(tmp_root)
    bundle = _collect_to(tmp_path / "facts.json", tmp_root, "--only", "mail.databytes")
    code, _, err = _run("evaluate", bundle, "--only", "mail.databytes", "--fail-on", "high",
                        "--format", "json", "-o", tmp_path)
    assert code == 1 and "gate failed" in err and "mail.databytes" in err


def _bad_bundle(tmp_path, text: str) -> tuple[int, str]:
    path = tmp_path / "bad.json"
    path.write_text(text)
    code, _, err = _run("evaluate", path, "--format", "json", "-o", tmp_path)
    assert not (tmp_path / "report.json").exists()
    return code, err


@pytest.fixture
def good_bundle(tmp_root, tmp_path):
    _mail_root(tmp_root)
    return json.loads(_collect_to(tmp_path / "good.json", tmp_root, "--only", "mail.").read_text())


def test_a_truncated_bundle_is_bad_input(good_bundle, tmp_path):
    code, err = _bad_bundle(tmp_path, json.dumps(good_bundle)[:500])
    assert code == 2 and "bad.json: line 1: not JSON" in err and "truncated" in err


def test_a_bundle_from_another_collector_version_is_refused_by_version(good_bundle, tmp_path):
    good_bundle["collector"]["version"] = "0.0.1"
    code, err = _bad_bundle(tmp_path, json.dumps(good_bundle))
    assert code == 2
    assert f"from hostaudit '0.0.1': this is hostaudit {__version__}" in err


def test_a_bundle_of_a_newer_format_is_refused_by_version(good_bundle, tmp_path):
    newer = bundles.BUNDLE_VERSION + 1
    good_bundle["bundle_version"] = newer
    good_bundle["facts"] = "a shape this version does not know"
    code, err = _bad_bundle(tmp_path, json.dumps(good_bundle))
    assert code == 2 and f"bundle format {newer}" in err


def test_a_fact_of_the_wrong_shape_is_bad_input_naming_it(good_bundle, tmp_path):
    good_bundle["facts"]["qmail_control"] = ["not", "an", "object"]
    code, err = _bad_bundle(tmp_path, json.dumps(good_bundle))
    assert code == 2 and "$.facts.qmail_control" in err


def test_an_error_fact_without_a_reason_is_bad_input(good_bundle, tmp_path):
    good_bundle["facts"]["qmail_control"] = {"error": 7}
    code, err = _bad_bundle(tmp_path, json.dumps(good_bundle))
    assert code == 2 and "$.facts.qmail_control.error" in err


def test_a_fact_no_probe_produces_is_bad_input(good_bundle, tmp_path):
    good_bundle["facts"]["made_up"] = {"x": 1}
    code, err = _bad_bundle(tmp_path, json.dumps(good_bundle))
    assert code == 2 and "$.facts.made_up: no probe" in err


def test_a_report_is_not_a_bundle(tmp_path):
    code, err = _bad_bundle(tmp_path, json.dumps({"schema_version": 1, "results": []}))
    assert code == 2 and "not a hostaudit fact bundle" in err


def test_without_psutil_the_socket_table_is_read_from_proc(monkeypatch):
    monkeypatch.setattr(sockets, "psutil", None)
    assert sockets.listeners(LiveHost())["source"] == "socket table (/proc)"


def test_evaluate_judges_the_controls_the_bundle_was_collected_for(tmp_root, tmp_path):
    _mail_root(tmp_root)
    bundle = _collect_to(tmp_path / "facts.json", tmp_root, "--only", "mail.databytes")
    assert _run("evaluate", bundle, "--format", "json", "-o", tmp_path)[0] == 0
    results = json.loads((tmp_path / "report.json").read_text())["results"]
    assert [(r["id"], r["status"]) for r in results] == [("mail.databytes", "fail")]


def test_facts_survive_serialisation_both_ways_errors_included():
    from hostaudit.facts import Facts

    facts = Facts(mode="image", values={"passwd": {"users": []}, "fstab": FactError("cannot read /etc/fstab")})
    again = Facts.from_serialisable(facts.serialisable(), mode="image")
    assert again.values == facts.values and again.error_of("fstab") == "cannot read /etc/fstab"
