"""The ``file`` kind searches target-written lines with a site's regexes: a line built to make
a regex backtrack (``\\s+$`` over a megabyte of spaces) never stalls the audit, and a line not
searched is never read as a line that does not match."""

from __future__ import annotations

import json
import os
import time

from support import run_check

from hostaudit.model import Status
from hostaudit.parsers import lines


def test_file_kind_a_line_too_long_to_search_leaves_must_not_match_undecided(tmp_root):
    tmp_root.write("/etc/motd", "welcome\n" + " " * 200_000 + "x\n")
    started = time.monotonic()
    result = run_check("site.files.motd", kind="file", root=tmp_root,
                       params={"path": "/etc/motd", "must_not_match": [r"\s+$"]})
    assert time.monotonic() - started < 10
    assert result.status is Status.ERROR
    assert "line 2 of 200001 characters, longer than 4096: not searched" in result.message


def test_file_kind_a_match_stands_beside_a_line_too_long_to_search(tmp_root):
    tmp_root.write("/etc/cron.allow", "x" * 5000 + "\nroot\n")
    result = run_check("site.files.cron-allow", kind="file", root=tmp_root,
                       params={"path": "/etc/cron.allow", "must_match": ["^root$"]})
    assert result.status is Status.PASS


def test_file_kind_search_stops_at_its_time_budget_and_is_undecided(tmp_root, monkeypatch):
    monkeypatch.setattr(lines, "SEARCH_SECONDS", 0.5)
    tmp_root.write("/etc/motd", (" " * 4000 + "x\n") * 400)
    started = time.monotonic()
    result = run_check("site.files.motd", kind="file", root=tmp_root,
                       params={"path": "/etc/motd", "must_not_match": [r"\s+$"]})
    assert time.monotonic() - started < 5
    assert result.status is Status.ERROR
    assert "search stopped after 0.5 s" in result.message


def _kptr_at_least_1(tmp_root, value: str):
    from schedulers import boots_systemd

    if not os.path.lexists(tmp_root.path / "sbin" / "init"):
        boots_systemd(tmp_root)
    tmp_root.write("/etc/sysctl.d/60-site.conf", f"kernel.kptr_restrict = {value}\n")
    return run_check("site.sysctl.kptr", kind="sysctl", root=tmp_root,
                     params={"key": "kernel.kptr_restrict", "expected": "1", "compare": ">="})


def test_sysctl_kind_order_comparison_fails_a_number_the_kernel_refuses_to_parse(tmp_root):
    # Python reads "1_0", "+2" and fullwidth "２" as numbers; the kernel refuses each write,
    # so the setting never takes effect.
    for value in ("1_0", "+2", "\uff12"):
        result = _kptr_at_least_1(tmp_root, value)
        assert result.status is Status.FAIL, value
        assert result.message == f"kernel.kptr_restrict: set persistently to {value}"


def test_sysctl_kind_order_comparison_reads_hex_as_the_kernel_does(tmp_root):
    result = _kptr_at_least_1(tmp_root, "0x2")
    assert result.status is Status.PASS
    assert result.message == "kernel.kptr_restrict = 0x2 (>= 1)"


def test_sysctl_a_setting_after_a_form_feed_in_a_comment_is_still_comment(tmp_root):
    # sysctl --system reads lines ending in newline only: "#\fkey = 2" is one comment line.
    from schedulers import boots_systemd

    boots_systemd(tmp_root)
    tmp_root.write("/etc/sysctl.d/60-site.conf", "#\x0ckernel.kptr_restrict = 2\n")
    result = run_check("site.sysctl.kptr", kind="sysctl", root=tmp_root,
                       params={"key": "kernel.kptr_restrict", "expected": "2"})
    assert result.status is Status.FAIL
    assert result.message.startswith("kernel.kptr_restrict: not set persistently")


def test_sysctl_a_value_trailed_by_a_no_break_space_is_not_the_number(tmp_root):
    # The kernel takes only blanks, tabs and newlines after the number; it refuses "2\xa0".
    result = _kptr_at_least_1(tmp_root, "2\u00a0")
    assert result.status is Status.FAIL


def test_file_kind_lines_end_at_newlines_only(tmp_root):
    # cron reads "x\froot" as one line: it is not a line "root".
    tmp_root.write("/etc/cron.allow", "x\x0croot\n")
    result = run_check("site.files.cron-allow", kind="file", root=tmp_root,
                       params={"path": "/etc/cron.allow", "must_match": ["^root$"]})
    assert result.status is Status.FAIL


def test_file_kind_a_glob_that_explodes_through_directory_links_is_an_error_not_a_walk(tmp_root, monkeypatch):
    from hostaudit.host import Host

    monkeypatch.setattr(Host, "GLOB_MATCH_LIMIT", 1000)
    tmp_root.mkdir("/x")
    for n in range(40):  # every link leads back: /x/*/* names 1,600 paths, /x/*/*/* 64,000
        os.symlink("/x", tmp_root.path / "x" / f"l{n}")
    result = run_check("site.files.x", kind="file", root=tmp_root,
                       params={"path": "/x/*/*", "mode_max": "0755"})
    assert result.status is Status.ERROR
    assert "matches more than 1000 paths" in result.message


def _validated(tmp_path, regex: str):
    from test_site_kinds import _one, _site, _validate

    params = f"{{path: /etc/x, must_not_match: [{json.dumps(regex)}]}}"
    return _validate(_site(tmp_path, _one("file", params)))


def test_a_file_regex_whose_repeat_holds_a_repeat_is_refused_at_validation(tmp_path):
    # ^(a+)+$ over 34 a's and a '!' held a scan for minutes; the probe's deadline cannot fire
    # while the regex engine holds the interpreter, and SIGTERM waited too.
    code, _, err = _validated(tmp_path, "^(a+)+$")
    assert code == 2
    assert "must_not_match[0]: '^(a+)+$' may backtrack catastrophically" in err


def test_a_file_regex_with_an_atomic_inner_repeat_is_accepted(tmp_path):
    code, _, err = _validated(tmp_path, "^(?>a+)+$")
    assert code == 0, err
