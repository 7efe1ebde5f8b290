"""Facts are collected once, only when needed; failures become reasons, not crashes."""

import threading

from hostaudit.errors import ProbeError
from hostaudit.facts import collect
from hostaudit.model import Result, Status
from hostaudit.registry import PROBES, CheckSpec, ProbeSpec
from hostaudit.runner import evaluate


def _register(name, func, needs=()):
    PROBES[name] = ProbeSpec(name, func, tuple(needs))


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
