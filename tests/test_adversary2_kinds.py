"""The ``file`` kind searches target-written lines with a site's regexes: a line built to make
a regex backtrack (``\\s+$`` over a megabyte of spaces) never stalls the audit, and a line not
searched is never read as a line that does not match."""

from __future__ import annotations

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
