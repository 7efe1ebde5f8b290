"""Facts are collected once, only when needed; failures become reasons, not crashes."""

import os
import threading
import time

import pytest

from hostaudit.errors import ProbeError
from hostaudit.facts import collect
from hostaudit.model import Result, Status
from hostaudit.registry import DEFAULT_PROBE_TIMEOUT, PROBES, CheckSpec, ProbeSpec, load_all, probe
from hostaudit.runner import evaluate


def _register(name, func, needs=(), timeout=DEFAULT_PROBE_TIMEOUT):
    PROBES[name] = ProbeSpec(name, func, tuple(needs), timeout)


def test_each_probe_runs_once_and_only_when_needed(tmp_root):
    calls = []
    _register("t_base", lambda host: calls.append("base") or 1)
    _register("t_top", lambda host, facts: calls.append("top") or facts["t_base"] + 1, needs=["t_base"])
    _register("t_unused", lambda host: calls.append("unused"))
    try:
        facts = collect(tmp_root.host, ["t_top", "t_base"], mode="image")
        assert facts["t_top"] == 2
        assert sorted(calls) == ["base", "top"]
    finally:
        for n in ("t_base", "t_top", "t_unused"):
            PROBES.pop(n)


def test_independent_probes_run_concurrently(tmp_root):
    barrier = threading.Barrier(2, timeout=5)
    _register("t_a", lambda host: barrier.wait() is not None)
    _register("t_b", lambda host: barrier.wait() is not None)
    try:
        facts = collect(tmp_root.host, ["t_a", "t_b"], mode="image")
        assert facts["t_a"] and facts["t_b"]
    finally:
        PROBES.pop("t_a"), PROBES.pop("t_b")


def test_probe_failure_becomes_error_result_for_checks_that_need_it(tmp_root):
    def broken(host):
        raise ProbeError("/etc/shadow: Permission denied")

    _register("t_broken", broken)
    try:
        facts = collect(tmp_root.host, ["t_broken"], mode="image")
        spec = CheckSpec("x.y", lambda facts, params: Result.passed("never"), {"*": ("t_broken",)})
        result = evaluate(spec, facts, {})
        assert result.status is Status.ERROR
        assert "Permission denied" in result.message
    finally:
        PROBES.pop("t_broken")


def test_missing_file_becomes_a_readable_reason(tmp_root):
    facts = collect(tmp_root.host, ["passwd"], mode="image")
    assert "/etc/passwd" in facts.error_of("passwd")


def test_crashing_check_is_an_error_not_a_pass(tmp_root):
    spec = CheckSpec("x.y", lambda facts, params: 1 / 0, {})
    result = evaluate(spec, collect(tmp_root.host, [], mode="image"), {})
    assert result.status is Status.ERROR
    assert "ZeroDivisionError" in result.message


# -- deadlines --------------------------------------------------------------------------------
@pytest.fixture
def blocking_fifo(tmp_path):
    """A FIFO whose reader blocks in open() until someone opens it for writing; the
    fixture opens it at the end, so a reader thread left behind by a test finishes."""
    path = tmp_path / "fifo"
    os.mkfifo(path)
    yield str(path)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:  # ENXIO: no reader left
        pass


def test_probe_past_its_deadline_is_an_error_and_the_rest_is_collected(tmp_root, blocking_fifo):
    _register("t_stuck", lambda host: open(blocking_fifo).read(), timeout=0.3)
    _register("t_fine", lambda host: "collected")
    try:
        started = time.monotonic()
        facts = collect(tmp_root.host, ["t_stuck", "t_fine"], mode="image")
        elapsed = time.monotonic() - started
    finally:
        PROBES.pop("t_stuck"), PROBES.pop("t_fine")
    assert facts.error_of("t_stuck") == "probe t_stuck timed out after 0.3 s"
    assert facts["t_fine"] == "collected"
    assert elapsed < 5


def test_check_needing_a_timed_out_fact_says_error_with_the_deadline(tmp_root):
    release = threading.Event()
    _register("t_slow", lambda host: release.wait(10), timeout=0.2)
    try:
        facts = collect(tmp_root.host, ["t_slow"], mode="image")
    finally:
        release.set()
        PROBES.pop("t_slow")
    spec = CheckSpec("x.y", lambda facts, params: Result.passed("never"), {"*": ("t_slow",)})
    result = evaluate(spec, facts, {})
    assert result.status is Status.ERROR
    assert result.message == "cannot decide: probe t_slow timed out after 0.2 s"


def test_probe_needing_a_timed_out_fact_reports_why(tmp_root):
    release = threading.Event()
    _register("t_slow", lambda host: release.wait(10), timeout=0.2)
    _register("t_after", lambda host, facts: facts["t_slow"], needs=["t_slow"])
    try:
        facts = collect(tmp_root.host, ["t_after"], mode="image")
    finally:
        release.set()
        PROBES.pop("t_slow"), PROBES.pop("t_after")
    assert facts.error_of("t_after") == "probe t_slow timed out after 0.2 s"


def test_late_answer_of_a_timed_out_probe_is_ignored(tmp_root):
    release, answering = threading.Event(), threading.Event()

    def late(host):
        release.wait(10)
        answering.set()
        return "late"

    def next_one(host):  # runs once t_late timed out (one worker), then lets it answer
        release.set()
        answering.wait(5)
        time.sleep(0.2)  # the late answer reaches the collector while this one still runs
        return "next"

    _register("t_late", late, timeout=0.2)
    _register("t_next", next_one)
    try:
        facts = collect(tmp_root.host, ["t_late", "t_next"], mode="image", workers=1)
    finally:
        release.set()
        PROBES.pop("t_late"), PROBES.pop("t_next")
    assert facts.error_of("t_late") == "probe t_late timed out after 0.2 s"
    assert facts["t_next"] == "next"


def test_a_stuck_probe_does_not_hold_a_worker_slot(tmp_root):
    release = threading.Event()
    _register("t_stuck", lambda host: release.wait(10), timeout=0.2)
    _register("t_other", lambda host: "ran")
    try:
        facts = collect(tmp_root.host, ["t_stuck", "t_other"], mode="image", workers=1)
    finally:
        release.set()
        PROBES.pop("t_stuck"), PROBES.pop("t_other")
    assert facts["t_other"] == "ran"


def test_probe_decorator_takes_a_deadline_and_defaults_to_60_s():
    try:
        probe("t_declared", timeout=5)(lambda host: None)
        probe("t_default")(lambda host: None)
        assert PROBES["t_declared"].timeout == 5.0
        assert PROBES["t_default"].timeout == DEFAULT_PROBE_TIMEOUT == 60.0
    finally:
        PROBES.pop("t_declared", None), PROBES.pop("t_default", None)


def test_network_sweeps_get_longer_than_nmaps_own_timeout():
    from hostaudit.probes.network import SWEEP_TIMEOUT

    load_all()
    for name in ("nmap_tcp", "nmap_udp", "nmap_ipproto"):
        assert PROBES[name].timeout > SWEEP_TIMEOUT
    assert PROBES["greetings"].timeout > DEFAULT_PROBE_TIMEOUT
