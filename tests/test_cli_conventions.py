"""Command-line conventions: output directories, choices in any case, suggestions, help
pages with examples, a reader closing the pipe, the report paths, shell completion."""

import io
import os
import shlex
import stat
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout

import pytest

from hostaudit import __version__
from hostaudit.cli import main

HOSTAUDIT = os.path.join(os.path.dirname(sys.executable), "hostaudit")


def _run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def _exits(*argv):
    """What argparse prints when it ends the run itself (help, version, usage errors)."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as done, redirect_stdout(out), redirect_stderr(err):
        main(list(argv))
    return done.value.code, out.getvalue(), err.getvalue()


def _root(tmp_root):
    tmp_root.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
    tmp_root.write("/var/qmail/control/databytes", "52428800\n")
    return tmp_root


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_missing_output_directory_is_created_with_its_parents_0750(tmp_root, tmp_path, umask_022):
    _root(tmp_root)
    out = tmp_path / "var" / "lib" / "hostaudit"
    code, _, err = _run("scan", "--root", str(tmp_root.path), "-o", str(out), "--quiet", "--only", "mail.")
    assert code == 0, err
    assert sorted(os.listdir(out)) == ["report.html", "report.json"]
    for directory in (tmp_path / "var", tmp_path / "var" / "lib", out):
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o750, directory


def test_output_named_like_a_report_file_is_bad_input(tmp_root, tmp_path, monkeypatch):
    _root(tmp_root)
    monkeypatch.chdir(tmp_path)
    code, _, err = _run("scan", "--root", str(tmp_root.path), "-o", "report.json", "--quiet", "--only", "mail.")
    assert code == 2
    assert err == ("error: --output: report.json looks like a file name, but --output is the directory the "
                   "reports go into (give the directory: -o .)\n")
    assert not (tmp_path / "report.json").exists()


def test_output_path_that_is_a_file_is_bad_input(tmp_root, tmp_path):
    _root(tmp_root)
    (tmp_path / "out").write_text("not a directory\n")
    code, _, err = _run("scan", "--root", str(tmp_root.path), "-o", str(tmp_path / "out" / "sub"), "--quiet")
    assert code == 2
    assert f"--output: output path is not a directory: {tmp_path}/out" in err
    assert (tmp_path / "out").read_text() == "not a directory\n"


def test_bad_input_creates_no_output_directory(tmp_path):
    code, _, err = _run("scan", "--root", str(tmp_path / "nope"), "-o", str(tmp_path / "new" / "out"), "--quiet")
    assert code == 2, err
    assert os.listdir(tmp_path) == []


def test_fail_on_takes_a_severity_in_any_case(tmp_root, tmp_path):
    _root(tmp_root)
    code, _, err = _run("scan", "--root", str(tmp_root.path), "-o", str(tmp_path), "--quiet",
                        "--only", "mail.databytes", "--fail-on", "HIGH")
    assert code == 1
    assert "severity high or higher" in err


def test_format_takes_names_in_any_case(tmp_root, tmp_path):
    _root(tmp_root)
    code, _, err = _run("scan", "--root", str(tmp_root.path), "-o", str(tmp_path / "out"), "--quiet",
                        "--only", "mail.databytes", "--format", "JSON")
    assert code == 0, err
    assert os.listdir(tmp_path / "out") == ["report.json"]


def test_scan_help_lists_the_severity_choices():
    code, out, _ = _exits("scan", "--help")
    assert code == 0
    assert "--fail-on {high,medium,low,info}" in out


def test_mistyped_subcommand_names_the_nearest():
    code, _, err = _exits("sacn")
    assert code == 2
    assert "invalid choice: 'sacn'" in err and "did you mean 'scan'?" in err


def test_mistyped_choice_names_the_nearest():
    code, _, err = _exits("scan", "--fail-on", "hihg")
    assert code == 2
    assert "did you mean 'high'?" in err


@pytest.mark.parametrize("command", [["scan"], ["controls"], ["explain"], ["diff"], ["baseline"],
                                     ["baseline", "validate"], ["completion"]], ids=" ".join)
def test_every_help_page_has_a_description_and_examples(command):
    code, out, _ = _exits(*command, "--help")
    assert code == 0
    usage, description = out.split("\n\n")[:2]
    assert usage.startswith(f"usage: hostaudit {' '.join(command)}")
    assert len(description.split()) >= 8, description
    examples = out[out.index("\nexamples:\n"):].splitlines()[2:]
    assert examples and all(line.startswith("  ") and "hostaudit" in line for line in examples)
    assert all(len(line) <= 100 for line in out.splitlines())


def test_every_option_and_argument_has_help_text():
    import argparse

    from hostaudit.cli import _parser

    def parsers(parser):
        yield parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child in action.choices.values():
                    yield from parsers(child)

    bare = [(p.prog, a.dest) for p in parsers(_parser()) for a in p._actions
            if not a.help and not isinstance(a, argparse._SubParsersAction)]
    assert bare == []


def test_version_names_the_package_version():
    code, out, _ = _exits("--version")
    assert code == 0
    assert out == f"hostaudit {__version__}\n"


def test_controls_table_shows_every_id_whole_at_80_columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = _run("controls")
    _, ids, _ = _run("controls", "--ids")
    assert code == 0
    assert "…" not in out
    shown = []
    for line in out.splitlines():
        if line.startswith("│"):
            cells = line.split("│")
            if cells[2].strip():
                shown.append(cells[1].strip())
            else:  # a folded ID goes on under its first part
                shown[-1] += cells[1].strip()
    assert shown == ids.split()
    assert max(map(len, out.splitlines())) <= 80


def test_controls_ids_prints_one_id_a_line():
    code, out, _ = _run("controls", "--ids")
    assert code == 0
    ids = out.splitlines()
    assert "mail.databytes" in ids and "sysctl.net.ipv4.tcp_syncookies" in ids
    assert all(" " not in i for i in ids)


def test_only_html_prints_the_report_path(tmp_root, tmp_path):
    _root(tmp_root)
    code, out, _ = _run("scan", "--root", str(tmp_root.path), "-o", str(tmp_path / "o"), "--format", "html",
                        "--only", "mail.databytes")
    assert code == 0
    assert out == f"Reports     {tmp_path}/o/report.html\n"


def test_quiet_prints_no_report_path(tmp_root, tmp_path):
    _root(tmp_root)
    code, out, _ = _run("scan", "--root", str(tmp_root.path), "-o", str(tmp_path), "--format", "html,json",
                        "--only", "mail.databytes", "--quiet")
    assert code == 0
    assert out == ""


def test_scan_output_ends_with_the_summary_gate_and_paths(tmp_root, tmp_path):
    _root(tmp_root)
    code, out, err = _run("scan", "--root", str(tmp_root.path), "-o", str(tmp_path), "--no-color",
                          "--only", "mail.databytes", "--fail-on", "high")
    assert code == 1
    lines = out.splitlines()
    assert lines.index("Failed and errored controls") < lines.index("Sections")
    gate = next(i for i, line in enumerate(lines) if line.startswith("Gate "))
    assert lines[gate].startswith("Gate        failed: 1 control(s) of severity high or higher")
    assert lines[-3:] == ["Details     hostaudit explain mail.databytes for details",
                          f"Reports     {tmp_path}/report.json", f"            {tmp_path}/report.html"]
    assert err == ""  # the verdict was in the summary; stderr does not repeat it


def test_places_searched_are_listed_only_with_verbose(tmp_root, tmp_path):
    _root(tmp_root)
    args = ["scan", "--root", str(tmp_root.path), "-o", str(tmp_path), "--no-color", "--format", "terminal",
            "--only", "sysctl.net.ipv4.tcp_syncookies"]
    short, verbose = (" ".join(_run(*args, *more)[1].split()) for more in ([], ["--verbose"]))
    assert "looked in 6 places" in short and "/run/sysctl.d/*.conf" not in short
    assert "/run/sysctl.d/*.conf" in verbose


def _head(argv: list[str], cwd) -> subprocess.CompletedProcess:
    """``hostaudit ARGV | head -1`` as a shell runs it, with hostaudit's own exit code."""
    command = f"{shlex.join([HOSTAUDIT, *argv])} 2>err | head -1; exit ${{PIPESTATUS[0]}}"
    return subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_a_reader_closing_the_pipe_ends_the_run_quietly(tmp_root, tmp_path):
    _root(tmp_root)
    done = _head(["scan", "--root", str(tmp_root.path), "-o", str(tmp_path)], tmp_path)
    assert done.returncode == 0
    assert done.stdout.startswith("Audit of image")
    assert (tmp_path / "err").read_text() == ""
    assert {"report.json", "report.html"} <= set(os.listdir(tmp_path))


def test_a_closed_pipe_does_not_hide_a_failed_gate(tmp_root, tmp_path):
    _root(tmp_root)
    done = _head(["scan", "--root", str(tmp_root.path), "-o", str(tmp_path), "--fail-on", "high"], tmp_path)
    assert done.returncode == 1
    assert (tmp_path / "err").read_text().startswith("gate failed: ")


def test_a_reader_closing_the_pipe_of_controls_is_not_an_error(tmp_path):
    done = _head(["controls"], tmp_path)
    assert done.returncode == 0
    assert (tmp_path / "err").read_text() == ""


def _complete(*words: str) -> list[str]:
    """What bash offers for the command line ``words`` (the cursor after the last word)."""
    script = subprocess.run([HOSTAUDIT, "completion", "bash"], capture_output=True, text=True, check=True,
                            timeout=60).stdout
    line = " ".join(shlex.quote(w) for w in (HOSTAUDIT, *words))
    test = (f"source /dev/stdin; COMP_WORDS=({line}); COMP_CWORD={len(words)}; _hostaudit; "
            'printf "%s\\n" "${COMPREPLY[@]}"')
    done = subprocess.run(["bash", "-c", test], input=script, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return sorted(filter(None, done.stdout.splitlines()))


def test_completion_script_is_valid_bash():
    script = subprocess.run([HOSTAUDIT, "completion", "bash"], capture_output=True, text=True, check=True).stdout
    assert subprocess.run(["bash", "-n"], input=script, text=True, timeout=60).returncode == 0
    assert script.rstrip().endswith("complete -F _hostaudit hostaudit")


def test_completion_offers_subcommands():
    assert _complete("ex") == ["explain"]
    assert _complete("") == ["baseline", "collect", "completion", "controls", "diff", "evaluate", "explain",
                             "fleet", "plan", "scan"]


def test_completion_offers_options_of_the_subcommand():
    assert _complete("scan", "--fail") == ["--fail-on", "--fail-under"]
    assert "--ids" in _complete("controls", "--")


def test_completion_offers_the_choices_of_an_option():
    assert _complete("scan", "--fail-on", "") == ["high", "info", "low", "medium"]
    assert _complete("scan", "--format", "json,h") == ["json,html"]


def test_completion_offers_control_ids():
    assert _complete("explain", "mail.datab") == ["mail.databytes"]
    assert _complete("scan", "--only", "mail.relay,sysctl.net.ipv4.tcp_s") == \
        ["mail.relay,sysctl.net.ipv4.tcp_syncookies"]


def test_completion_offers_nested_actions_and_files(tmp_path):
    assert _complete("baseline", "") == ["validate"]
    (tmp_path / "site.yaml").write_text("name: site\n")
    assert _complete("baseline", "validate", f"{tmp_path}/si") == [f"{tmp_path}/site.yaml"]


def test_diff_creates_a_missing_output_directory(tmp_root, tmp_path, umask_022):
    _root(tmp_root)
    code, _, err = _run("scan", "--root", str(tmp_root.path), "-o", str(tmp_path), "--format", "json", "--quiet",
                        "--only", "mail.")
    assert code == 0, err
    report = str(tmp_path / "report.json")
    out = tmp_path / "diffs" / "today"
    code, _, err = _run("diff", report, report, "-o", str(out), "--format", "JSON")
    assert code == 0, err
    assert os.listdir(out) == ["diff.json"]
    assert stat.S_IMODE(os.stat(tmp_path / "diffs").st_mode) == 0o750


def test_completion_offers_shipped_baselines_and_files(tmp_path):
    (tmp_path / "gcux-site.yaml").write_text("name: site\n")
    assert _complete("scan", "--baseline", "gcux") == ["gcux-qmail"]
    assert _complete("controls", "--baseline", f"{tmp_path}/gc") == [f"{tmp_path}/gcux-site.yaml"]
