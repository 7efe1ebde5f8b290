"""Helpers that let tests read as specifications: build a small root, run one check on it."""

from __future__ import annotations

import os
from pathlib import Path

from hostaudit.baseline import load
from hostaudit.facts import Facts, collect
from hostaudit.host import ImageHost, LiveHost
from hostaudit.model import Result
from hostaudit.registry import CHECKS, KINDS, load_all, merge_requests
from hostaudit.runner import evaluate


class RootBuilder:
    """A fixture root filesystem built file by file inside a test's tmp_path."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)

    def _target(self, rel: str) -> Path:
        return self.path / rel.lstrip("/")

    def write(self, rel: str, text: str = "", *, mode: int | None = None,
              uid: int | None = None, gid: int | None = None) -> Path:
        """Write ``text`` at target path ``rel`` (``/etc/fstab`` or ``etc/fstab``)."""
        target = self._target(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        if mode is not None:
            os.chmod(target, mode)
        if uid is not None or gid is not None:
            os.chown(target, uid if uid is not None else -1, gid if gid is not None else -1)
        return target

    def mkdir(self, rel: str, *, mode: int | None = None,
              uid: int | None = None, gid: int | None = None) -> Path:
        target = self._target(rel)
        target.mkdir(parents=True, exist_ok=True)
        if mode is not None:
            os.chmod(target, mode)
        if uid is not None or gid is not None:
            os.chown(target, uid if uid is not None else -1, gid if gid is not None else -1)
        return target

    def symlink(self, rel: str, points_to: str) -> Path:
        """Create a symlink at ``rel`` whose target is ``points_to`` (as the image would)."""
        target = self._target(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(points_to)
        return target

    def installed(self, *names: str, version: str = "1.0") -> Path:
        """A dpkg status file listing ``names`` as installed (one stanza each, 4 lines apart)."""
        stanzas = [f"Package: {n}\nStatus: install ok installed\nVersion: {version}\n" for n in names]
        return self.write("/var/lib/dpkg/status", "\n".join(stanzas))

    @property
    def host(self) -> ImageHost:
        return ImageHost(str(self.path))


_SHIPPED = None


def shipped_parameters(control_id: str) -> dict:
    """The shipped gcux-qmail baseline's parameters for ``control_id`` ({} if absent)."""
    global _SHIPPED
    if _SHIPPED is None:
        _SHIPPED = load("gcux-qmail")
    try:
        return dict(_SHIPPED.control(control_id).parameters)
    except KeyError:
        return {}


def _shipped_kind(control_id: str) -> str:
    global _SHIPPED
    if _SHIPPED is None:
        _SHIPPED = load("gcux-qmail")
    try:
        return _SHIPPED.control(control_id).kind
    except KeyError:
        return ""


def run_check(control_id: str, *, root: RootBuilder | None = None, facts: dict | None = None,
              params: dict | None = None, mode: str = "image", live: bool = False,
              modes: set | None = None, kind: str | None = None) -> Result:
    """Evaluate one registered check, or one shipped control decided by a generic kind.

    With ``root``, its facts are collected from that tree as an image; with ``facts``, the
    given fact values are used as they are (a pure unit test; ``modes`` adds ``net``);
    with ``live=True``, from this machine. Parameters are the shipped baseline's, updated by
    ``params``. ``kind`` evaluates a generic kind with ``params`` alone (``control_id`` is
    then only a label); the probes are asked exactly what the parameters request.
    """
    load_all()
    if kind is not None:
        spec, merged = KINDS[kind], dict(params or {})
    else:
        shipped_kind = _shipped_kind(control_id)
        spec = KINDS[shipped_kind] if shipped_kind else CHECKS[control_id]
        merged = {**shipped_parameters(control_id), **(params or {})}
    if facts is not None:
        return evaluate(spec, Facts(mode=mode, values=dict(facts), modes=frozenset(modes or {mode})), merged)
    host = LiveHost() if live else root.host
    needed = spec.needs_for(merged, host.modes)
    requests = {fact: merge_requests([r]) for fact, r in spec.requests(merged).items() if r is not None}
    collected = collect(host, needed, mode=host.mode, modes=host.modes, requests=requests)
    return evaluate(spec, collected, merged)


def evidence_lines(result: Result) -> list[str]:
    """A result's evidence as ``where:line: text`` strings, as the reports print it."""
    return [str(e) for e in result.evidence]


def shipped_requests() -> dict:
    """What the shipped baseline's controls ask of each probe, as a full audit plans it."""
    from hostaudit.runner import plan_audit

    load_all()
    if _SHIPPED is None:
        shipped_parameters("")
    return dict(plan_audit(list(_SHIPPED.controls), frozenset({"live", "image"})).requests)


def collect_fact(name: str, root: RootBuilder, mode: str = "image", request: dict | None = None):
    """Collect one fact (and its dependencies) from a fixture root; returns the value. A
    probe that takes requests is asked what the shipped baseline asks, or ``request``."""
    load_all()
    requests = shipped_requests()
    if request is not None:
        requests[name] = request
    return collect(root.host, [name], mode=mode, requests=requests)[name]
