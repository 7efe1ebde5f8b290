"""--gate-against: a CI gate that fails only on what got worse since an accepted report,
and the CI examples in contrib/ci/ whose gate command lines are run here as written."""

import io
import json
import shlex
import shutil
import tarfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import yaml

from hostaudit.cli import main

CI = Path(__file__).resolve().parent.parent / "contrib" / "ci"
REFERENCE = "ci/hostaudit-reference.json"  # where both examples keep the accepted report


def _run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def _image(path: Path, *, shadow_mode: int = 0o640, users: str = "") -> Path:
    """A small image tarball as `docker export` writes one; ``shadow_mode`` 0644 makes the
    high-severity auth.shadow fail where 0640 passes."""
    members = [
        ("etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n" + users.encode(), 0o644),
        ("etc/group", b"root:x:0:\n", 0o644),
        ("etc/shadow", b"root:*:19000:0:99999:7:::\n", shadow_mode),
        ("var/qmail/control/databytes", b"5242880\n", 0o644),
    ]
    with tarfile.open(path, "w") as tar:
        for name, data, mode in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return path


def _reference(tmp_path: Path, image: Path, *extra) -> Path:
    """The accepted release's report.json, audited from ``image``."""
    out = tmp_path / "reference-run"
    out.mkdir()
    code, _, err = _run("scan", "--image", str(image), "--format", "json", "-o", str(out), "--quiet", *extra)
    assert code == 0, err
    return out / "report.json"


def _status(report: Path, control_id: str) -> str:
    return next(r["status"] for r in json.loads(report.read_text())["results"] if r["id"] == control_id)


def test_gate_against_fails_naming_the_control_that_newly_fails(tmp_path):
    reference = _reference(tmp_path, _image(tmp_path / "old.tar"))
    assert _status(reference, "auth.shadow") == "pass"
    image = _image(tmp_path / "new.tar", shadow_mode=0o644)
    code, _, err = _run("scan", "--image", str(image), "--gate-against", str(reference),
                        "--format", "json", "-o", str(tmp_path), "--quiet")
    assert code == 1
    assert "1 control(s) newly failed or erred" in err
    assert "auth.shadow (high, pass -> fail)" in err


def test_gate_against_an_unchanged_image_passes_despite_old_failures(tmp_path):
    image = _image(tmp_path / "image.tar")
    reference = _reference(tmp_path, image)
    assert _status(reference, "fs.partition.boot") == "fail"  # a legacy failure, accepted
    code, _, err = _run("scan", "--image", str(image), "--gate-against", str(reference),
                        "--format", "json", "-o", str(tmp_path), "--quiet")
    assert code == 0, err
    assert "gate failed" not in err


def test_gate_against_with_fail_on_counts_only_new_failures_of_that_severity(tmp_path):
    reference = _reference(tmp_path, _image(tmp_path / "old.tar"))
    # A new medium failure (an unneeded account) and no new high one.
    image = _image(tmp_path / "new.tar", users="games:x:5:60:games:/usr/games:/usr/sbin/nologin\n")
    argv = ["scan", "--image", str(image), "--gate-against", str(reference), "--format", "json",
            "-o", str(tmp_path), "--quiet"]
    assert _run(*argv, "--fail-on", "high")[0] == 0
    code, _, err = _run(*argv, "--fail-on", "medium")
    assert code == 1
    assert "accounts.removed-users (medium, pass -> fail)" in err


def test_gate_against_fails_when_a_waiver_the_reference_relied_on_expires(tmp_path):
    image = _image(tmp_path / "image.tar", users="games:x:5:60:games:/usr/games:/usr/sbin/nologin\n")
    site = tmp_path / "site.yaml"
    waiver = ("name: site\nextends: gcux-qmail\nwaivers:\n  - control: accounts.removed-users\n"
              "    reason: legacy\n    approved_by: J. Doe\n    expires: {}\n")
    site.write_text(waiver.format("2999-12-31"))
    reference = _reference(tmp_path, image, "--baseline", str(site))
    assert _status(reference, "accounts.removed-users") == "waived"
    site.write_text(waiver.format("2001-01-01"))
    code, _, err = _run("scan", "--image", str(image), "--baseline", str(site), "--gate-against",
                        str(reference), "--format", "json", "-o", str(tmp_path), "--quiet")
    assert code == 1
    assert "accounts.removed-users (medium, waived -> fail)" in err
    assert "note: gate against" in err and "baseline changed" in err


def test_gate_against_a_reference_of_another_selection_says_so(tmp_path):
    image = _image(tmp_path / "image.tar", shadow_mode=0o644)
    reference = _reference(tmp_path, image, "--only", "mail.")
    code, _, err = _run("scan", "--image", str(image), "--gate-against", str(reference), "--only", "auth.shadow",
                        "--format", "json", "-o", str(tmp_path), "--quiet")
    assert code == 1
    assert "auth.shadow (high, not in the reference -> fail)" in err
    assert "the reference audited another selection of controls (--only/--skip)" in err


def test_gate_against_a_missing_reference_is_bad_input_before_the_audit(tmp_path):
    image = _image(tmp_path / "image.tar")
    code, _, err = _run("scan", "--image", str(image), "--gate-against", str(tmp_path / "none.json"),
                        "-o", str(tmp_path), "--quiet")
    assert code == 2
    assert "none.json: no such report file" in err
    assert "run this scan once without --gate-against and commit its report.json as" in err
    assert not (tmp_path / "report.json").exists()


def _gate_commands(example: Path) -> list[list[str]]:
    """Every `hostaudit scan` command line in a CI file's scripts, split as a shell would."""
    commands = []

    def walk(node):
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str):
            for line in node.replace("\\\n", " ").splitlines():
                if line.strip().startswith("hostaudit scan"):
                    commands.append(shlex.split(line.strip()))

    walk(yaml.safe_load(example.read_text()))
    return commands


def _run_example(example: Path, workdir: Path, monkeypatch) -> list[tuple[int, str, str]]:
    """Run the example's gate lines in ``workdir`` (which holds image.tar and the reference)."""
    commands = _gate_commands(example)
    assert commands, f"no hostaudit scan line in {example.name}"
    monkeypatch.chdir(workdir)
    (workdir / "audit").mkdir(exist_ok=True)
    results = []
    for argv in commands:
        assert argv[:2] == ["hostaudit", "scan"]
        results.append(_run(*argv[1:]))
    return results


@pytest.fixture
def pipeline(tmp_path):
    """A pipeline's working directory: the accepted release's report committed under ci/."""
    workdir = tmp_path / "repo"
    (workdir / "ci").mkdir(parents=True)
    shutil.copy(_reference(tmp_path, _image(tmp_path / "accepted.tar")), workdir / REFERENCE)
    return workdir


@pytest.mark.parametrize("example", ["github-actions.yml", "gitlab-ci.yml"])
def test_ci_example_gate_passes_an_unchanged_image(example, pipeline, monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    _image(pipeline / "image.tar")
    for code, _, err in _run_example(CI / example, pipeline, monkeypatch):
        assert code == 0, err
    assert (pipeline / "audit" / "report.junit.xml").is_file()
    assert (pipeline / "audit" / "report.json").is_file()


@pytest.mark.parametrize("example", ["github-actions.yml", "gitlab-ci.yml"])
def test_ci_example_gate_fails_an_image_with_a_new_high_failure(example, pipeline, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true" if example.startswith("github") else "false")
    _image(pipeline / "image.tar", shadow_mode=0o644)
    [(code, out, err)] = _run_example(CI / example, pipeline, monkeypatch)
    assert code == 1
    # The verdict closes the terminal summary (wrapped to the width) or, without it, stderr.
    assert "auth.shadow (high, pass -> fail)" in " ".join((out + err).split())
    if example.startswith("github"):
        annotations = [line for line in out.splitlines() if line.startswith("::")]
        # The new failure first, as an error; failures the reference had are notices.
        assert annotations[0] == ("::error title=hostaudit auth.shadow,file=etc/shadow::auth.shadow failed "
                                  "(high, new since the reference report): password hashes are exposed")
        assert not any(line.startswith("::error") for line in annotations[1:])
        assert any(line.startswith("::notice title=hostaudit fs.partition.boot") for line in annotations)
        assert (pipeline / "audit" / "report.sarif").is_file()
    else:
        assert "::error" not in out


def test_fail_on_names_ten_controls_and_counts_the_rest(tmp_path):
    image = _image(tmp_path / "image.tar")
    code, _, err = _run("scan", "--image", str(image), "--fail-on", "low", "--format", "json", "-o", str(tmp_path),
                        "--quiet")
    report = json.loads((tmp_path / "report.json").read_text())
    bad = [r["id"] for r in report["results"] if r["status"] in ("fail", "error")]
    assert code == 1 and len(bad) > 10
    assert err.rstrip("\n").endswith(f"{bad[9]} and {len(bad) - 10} more")
