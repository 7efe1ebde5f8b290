"""A fleet at a glance: many hosts' reports (or fact bundles) summed up in one fleet report.

The input is one directory per host, named after the host (the Ansible playbook in
``contrib/ansible`` fetches into such a tree)::

    DIR/mail1/report.json           a host's report (hostaudit scan or evaluate wrote it)
    DIR/mail2/facts.json[.gz]       or its fact bundle (hostaudit collect): evaluated here
    DIR/mail3/not-audited.json      or why it could not be audited: {"state": "unreachable"|"failed", "reason": ...}
    DIR/mail1/net/report.json       optionally, a sweep of the host's address, joined with its
                                    socket table (hostaudit.fleet_network)

Bundles are evaluated in parallel, one process per core; each worker writes the host's own
report set and hands back only the summary the fleet report needs, so memory stays flat
however many hosts there are. A host whose files are unreadable or malformed is listed as
not audited with the reason: one bad host never hides the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hostaudit.baseline import Baseline

import itertools
import os
import re
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from hostaudit import __version__
from hostaudit.errors import HostauditError, InputError
from hostaudit.fleet_network import leaves, read_marker, socket_table
from hostaudit.redact import redact, redact_text

FLEET_SCHEMA_VERSION = 1
MARKER = "not-audited.json"
REPORT = "report.json"
BUNDLE_NAMES = ("facts.json", "facts.json.gz")
TOP_FAILURES = 20
_MARKER_STATES = ("unreachable", "failed")
# How a host directory may be named: inventory names, FQDNs, addresses.
_HOST_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:@-]{0,252}")


def _relative(path: str, start: str) -> str:
    return os.path.relpath(path, start).replace(os.sep, "/")


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_number(value) -> bool:
    """A number or None (nothing decided)."""
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _checked(report: dict) -> None:
    """ValueError naming the first field the fleet computes with that a report (the host sent
    it, and may have edited it) gives in a shape hostaudit never writes: one host's report
    may spoil its own entry, never the fleet's sums and rankings."""
    from hostaudit.model import Severity, Status

    score = report["score"]
    if not _is_number(score):
        raise ValueError(f"$.score is {type(score).__name__}, not a number")
    for key in ("name", "digest"):
        if not isinstance(report["baseline"].get(key), str):
            raise ValueError(f"$.baseline.{key} is not a string")
    for name, section in report["sections"].items():
        if not isinstance(section, dict) or not isinstance(section.get("title", name), str):
            raise ValueError(f"$.sections.{name}.title is not a string")
    coverage = report["coverage"]
    for key in ("selected", "decided"):
        if not _is_count(coverage.get(key)):
            raise ValueError(f"$.coverage.{key} is not a count")
    undecided = coverage.get("undecided")
    if not isinstance(undecided, dict) or not all(_is_count(n) for n in undecided.values()):
        raise ValueError("$.coverage.undecided is not counts by status")
    if not _is_number(coverage.get("percent")):
        raise ValueError("$.coverage.percent is not a number")
    severities, statuses = Severity.order(), {s.value for s in Status}
    for index, result in enumerate(report["results"]):
        if not isinstance(result, dict) or not isinstance(result.get("id"), str):
            raise ValueError(f"$.results[{index}] has no control id")
        if result.get("status") not in statuses:
            raise ValueError(f"$.results[{index}].status is not one of {sorted(statuses)}")
        if result.get("severity") not in severities:
            raise ValueError(f"$.results[{index}].severity is not one of {list(severities)}")
        for key in ("title", "section"):
            if not isinstance(result.get(key), str):
                raise ValueError(f"$.results[{index}].{key} is not a string")


def host_summary(name: str, report: dict, *, report_html: str | None, report_json: str) -> dict:
    """What the fleet report keeps of one host's report (never its facts or evidence).
    ValueError when a field it computes with is malformed (``_checked``)."""
    from hostaudit.reports.present import section_score

    _checked(report)
    results = report["results"]
    target = report["target"]
    return {
        "name": name,
        "state": "audited",
        "score": report["score"],
        "coverage": report["coverage"],
        "counts": report["counts"],
        "sections": {section: section_score(data) for section, data in report["sections"].items()},
        "section_titles": {section: data.get("title", section) for section, data in report["sections"].items()},
        "failed": [r["id"] for r in results if r["status"] == "fail"],
        "errors": [r["id"] for r in results if r["status"] == "error"],
        "statuses": {r["id"]: r["status"] for r in results},
        "controls": {r["id"]: {"title": r["title"], "severity": r["severity"], "section": r["section"]}
                     for r in results if r["status"] in ("fail", "error")},
        "target": {key: target.get(key) for key in ("mode", "hostname", "root", "image", "address")
                   if target.get(key) is not None},
        "baseline": {"name": report["baseline"]["name"], "digest": report["baseline"]["digest"]},
        "tool_version": report["tool"]["version"],
        "started": report["timing"]["started"],
        "report_json": report_json,
        "report_html": report_html,
        # Internal, for the network view (fleet_network.join); not in fleet.json.
        "sockets": socket_table(report),
    }


def _not_audited(name: str, state: str, reason: str) -> dict:
    return {"name": name, "state": state, "reason": reason}


def _read_marker(path: str, name: str) -> dict:
    """A host the playbook could not audit, as its marker file says (or why that is unclear)."""
    try:
        marker = read_marker(path)
    except (OSError, ValueError) as exc:
        return _not_audited(name, "failed", f"unreadable {MARKER}: {exc}")
    if not isinstance(marker, dict):
        return _not_audited(name, "failed", f"{MARKER} is not an object")
    state = str(marker["state"]) if marker.get("state") in _MARKER_STATES else "failed"
    reason = marker.get("reason")
    reason = reason if isinstance(reason, str) and reason else f"{MARKER} gives no reason"
    # The playbook's error message may quote a task's command line, password and all.
    return _not_audited(name, state, redact_text(reason[:2000]))


class _Evaluator:
    """Evaluates one host's bundle in a worker process and writes its report set."""

    baseline: Baseline | None = None
    formats: tuple[str, ...] = ()

    @classmethod
    def init(cls, baseline_ref: str, formats: tuple[str, ...], worker: bool = True) -> None:
        import signal

        from hostaudit.baseline import load_checked
        from hostaudit.registry import load_all

        if worker:
            # The parent alone unwinds on a signal and ends the pool; a worker just stops
            # (a forked copy of the parent's handlers would print a traceback per worker).
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGHUP, signal.SIG_DFL)

        load_all()  # a worker is a composition root of its own
        cls.baseline = load_checked(baseline_ref)
        cls.formats = formats

    @classmethod
    def run(cls, job: tuple[str, str, str, str]) -> dict:
        name, bundle_path, out_dir, fleet_out = job
        from hostaudit import bundle as bundles
        from hostaudit.reports import json_report
        from hostaudit.reports.atomic import write_set
        from hostaudit.scan import evaluate

        if cls.baseline is None:
            raise RuntimeError("_Evaluator.run before _Evaluator.init")
        try:
            report = evaluate(bundles.load(bundle_path), cls.baseline).report
        except HostauditError as exc:
            return _not_audited(name, "failed", f"bad bundle: {exc}")
        except Exception as exc:  # one host's broken facts must not sink the fleet
            return _not_audited(name, "failed", f"evaluation failed: {type(exc).__name__}: {exc}")
        os.makedirs(out_dir, mode=0o700, exist_ok=True)
        rendered = {os.path.join(out_dir, REPORT): json_report.render(report, compact=True)}
        html_path = None
        if "html" in cls.formats:
            from hostaudit.reports import html

            html_path = os.path.join(out_dir, "report.html")
            rendered[html_path] = html.render(report)
        write_set(rendered, mode=0o600)
        return host_summary(name, report, report_json=_relative(os.path.join(out_dir, REPORT), fleet_out),
                            report_html=_relative(html_path, fleet_out) if html_path else None)


# What a host summary carries for the fleet's own sums, never into fleet.json.
_INTERNAL = ("statuses", "controls", "section_titles", "sockets")


def _from_report(name: str, path: str, fleet_out: str, root: str) -> dict:
    from hostaudit.reports import fleet_view, json_report

    try:
        report = json_report.load(path)
        html_path = os.path.join(os.path.dirname(path), "report.html")
        shown = os.path.isfile(html_path) and not leaves(root, html_path)
        # A report the host sent (an older hostaudit's, or edited) is target text: its
        # summary passes the redaction every report of ours has passed.
        summary = redact(host_summary(name, report, report_json=_relative(path, fleet_out),
                                      report_html=_relative(html_path, fleet_out) if shown else None))
        problem = fleet_view.part_problem("host", {k: v for k, v in summary.items() if k not in _INTERNAL})
        if problem:
            return _not_audited(name, "failed", f"bad report: its summary at {problem}")
        return summary
    except HostauditError as exc:
        return _not_audited(name, "failed", f"bad report: {exc}")
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        return _not_audited(name, "failed", f"bad report: missing or malformed field ({type(exc).__name__}: {exc})")


def gather(source: str, *, output: str, baseline_ref: str, formats: Iterable[str] = ("json", "html"),
           workers: int | None = None, hosts: Iterable[str] | None = None) -> list[dict]:
    """One entry per host directory of ``source``: its summary, or why it was not audited.

    A host with a report is read; one with only a bundle is evaluated against
    ``baseline_ref`` (in ``workers`` processes, default one per core) and its reports written
    to ``output/hosts/<name>/``; a marker says why a host was not audited. Sorted by name.

    ``hosts`` (the hosts of this run, e.g. Ansible's play hosts) limits the report to them,
    and a host among them without a directory is listed as not audited.
    """
    if not os.path.isdir(source):
        raise InputError("no such fleet directory", where=source)
    root = os.path.realpath(source)
    entries: list[dict] = []
    jobs: list[tuple[str, str, str, str]] = []
    present = {n for n in os.listdir(source) if os.path.isdir(os.path.join(source, n)) and not n.startswith(".")}
    wanted = set(hosts) if hosts is not None else present
    for name in sorted(wanted - present):
        entries.append(_not_audited(name, "failed", "no results: the run stopped before this host's "
                                    "audit was collected"))
    for name in sorted(wanted & present):
        path = os.path.join(source, name)
        if not _HOST_NAME.fullmatch(name):
            entries.append(_not_audited(name, "failed", "directory name is not a host name"))
            continue
        outside = [f for f in ("", MARKER, REPORT, *BUNDLE_NAMES) if leaves(root, os.path.join(path, f))]
        if outside:
            what = f"{outside[0]} is a link" if outside[0] else "its directory is a link"
            entries.append(_not_audited(name, "failed", f"{what} out of the fleet directory: not read"))
            continue
        report = os.path.join(path, REPORT)
        bundle = next((os.path.join(path, b) for b in BUNDLE_NAMES if os.path.isfile(os.path.join(path, b))), None)
        if os.path.isfile(os.path.join(path, MARKER)):
            entries.append(_read_marker(os.path.join(path, MARKER), name))
        elif os.path.isfile(report):
            entries.append(_from_report(name, report, output, root))
        elif bundle:
            jobs.append((name, bundle, os.path.join(output, "hosts", name), output))
        else:
            entries.append(_not_audited(name, "failed", f"no {REPORT}, bundle or {MARKER} in its directory "
                                        "(did the run stop before this host was done?)"))
    # Summaries are made compact as they arrive, so at no time are all full copies held.
    evaluated = _evaluate_all(jobs, baseline_ref, tuple(formats), workers)
    gathered = sorted(_shared(itertools.chain(entries, evaluated)), key=lambda e: e["name"])
    for entry in gathered:
        _add_network(entry, source, output)
    return gathered


def _add_network(entry: dict, source: str, output: str) -> None:
    """Join the sweep of ``entry``'s address (``DIR/<host>/net/``), when there was one, with
    its socket table; a host not audited has none to compare with."""
    from hostaudit import fleet_network

    sockets = entry.pop("sockets", None) or {
        "state": "unavailable", "reason": f"the host itself was not audited ({entry['state']})"}
    if not _HOST_NAME.fullmatch(entry["name"]):
        return
    view = fleet_network.read(os.path.join(source, entry["name"]), sockets,
                              link=lambda path: _relative(path, output), root=os.path.realpath(source))
    if view is not None:
        # A sweep's failure marker may quote the scanner's command line; a net report is ours
        # but may have been edited: the view passes the redaction every report has passed,
        # and one of a shape the fleet report cannot carry is that sweep's failure.
        from hostaudit.reports.fleet_view import part_problem

        view = redact(view)
        problem = part_problem("network", view)
        entry["network"] = fleet_network.failed(f"bad net report: its view at {problem}") if problem else view


def _shared(entries: Iterable[dict]) -> list[dict]:
    """``entries`` with what hosts have in common held once: control and section titles in
    one catalogue all entries point to, control IDs and statuses interned. Each summary
    arrives from a worker as its own copy; kept as they are, a 5,000-host fleet would hold
    5,000 copies of the baseline's titles.

    Where hosts disagree on a control's title, severity or section (a site baseline, or a
    host that edited its report), the catalogue takes what most hosts say: one host does not
    rename a control for the whole fleet by sorting first."""
    from collections import Counter

    control_votes: dict[str, Counter] = {}
    title_votes: dict[str, Counter] = {}
    controls: dict[str, dict] = {}
    titles: dict[str, str] = {}
    out = []
    for entry in entries:
        if entry["state"] == "audited":
            for cid, meta in entry["controls"].items():
                control_votes.setdefault(cid, Counter())[tuple(sorted(meta.items()))] += 1
            for name, title in entry["section_titles"].items():
                title_votes.setdefault(name, Counter())[title] += 1
            entry["controls"], entry["section_titles"] = controls, titles
            entry["statuses"] = {sys.intern(k): sys.intern(v) for k, v in entry["statuses"].items()}
            entry["failed"] = [sys.intern(i) for i in entry["failed"]]
            entry["errors"] = [sys.intern(i) for i in entry["errors"]]
            entry["sections"] = {sys.intern(k): v for k, v in entry["sections"].items()}
        out.append(entry)
    # most_common keeps first-seen order among equals: ties go to the host sorted first.
    controls.update((cid, dict(votes.most_common(1)[0][0])) for cid, votes in control_votes.items())
    titles.update((name, votes.most_common(1)[0][0]) for name, votes in title_votes.items())
    return out


def _evaluate_all(jobs, baseline_ref: str, formats: tuple[str, ...], workers: int | None) -> Iterator[dict]:
    """Each job's summary, in the order they finish."""
    if not jobs:
        return
    from hostaudit.cli import _load_baseline

    _load_baseline(baseline_ref)  # a bad baseline is bad input once, here, not per host
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    if workers == 1:
        _Evaluator.init(baseline_ref, formats, worker=False)
        yield from (_Evaluator.run(job) for job in jobs)
        return
    import multiprocessing

    # fork: workers inherit the loaded modules; each loads the baseline once.
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=_Evaluator.init, initargs=(baseline_ref, formats),
                      maxtasksperchild=200) as pool:
        yield from pool.imap_unordered(_Evaluator.run, jobs, chunksize=4)


def top_failures(hosts: list[dict], limit: int = TOP_FAILURES) -> list[dict]:
    """The controls that fail (or cannot be decided) on most audited hosts, most first."""
    tally: dict[str, dict] = {}
    for host in hosts:
        for status, ids in (("fail", host["failed"]), ("error", host["errors"])):
            for control_id in ids:
                entry = tally.setdefault(control_id, {"id": control_id, **host["controls"][control_id],
                                                      "failed_on": [], "error_on": []})
                entry["failed_on" if status == "fail" else "error_on"].append(host["name"])
    severity = ("high", "medium", "low", "info")
    ranked = sorted(tally.values(), key=lambda e: (-len(e["failed_on"]), -len(e["error_on"]),
                                                  severity.index(e["severity"]), e["id"]))
    return ranked[:limit]


def _sections(hosts: list[dict]) -> list[dict]:
    seen: dict[str, str] = {}
    for catalogue in {id(h["section_titles"]): h["section_titles"] for h in hosts}.values():
        for name, title in catalogue.items():
            seen.setdefault(name, title)
    return [{"name": name, "title": title} for name, title in seen.items()]


def build(source: str, entries: list[dict], *, previous: dict | None = None) -> dict:
    """The fleet report (reports/fleet.schema.json) from ``gather``'s entries; with
    ``previous`` (the last run's ``state_record``), which hosts changed since."""
    audited = [e for e in entries if e["state"] == "audited"]
    not_audited = [e for e in entries if e["state"] != "audited"]
    scores = [h["score"] for h in audited if h["score"] is not None]
    report = {
        "fleet_schema_version": FLEET_SCHEMA_VERSION,
        "tool": {"name": "hostaudit", "version": __version__},
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": os.path.abspath(source),
        "summary": {
            "hosts": len(entries),
            "audited": len(audited),
            "not_audited": len(not_audited),
            "unreachable": sum(1 for e in not_audited if e["state"] == "unreachable"),
            "mean_score": round(sum(scores) / len(scores), 1) if scores else None,
            "min_score": min(scores) if scores else None,
            "baselines": sorted({f"{h['baseline']['name']} {h['baseline']['digest'][:12]}" for h in audited}),
            **_network_summary(entries),
        },
        "sections": _sections(audited),
        "hosts": [{k: v for k, v in h.items() if k not in _INTERNAL} for h in audited],
        "not_audited": not_audited,
        "top_failures": top_failures(audited),
        "changes": changes(previous, audited, not_audited) if previous is not None else None,
    }
    return report


def _network_summary(entries: list[dict]) -> dict:
    """How many hosts were swept, how many sweeps failed, how many hosts show ports on the
    wire their socket table does not; nothing when no host was swept."""
    views = [e["network"] for e in entries if "network" in e]
    if not views:
        return {}
    return {"network": {
        "swept": sum(1 for v in views if v["state"] == "swept"),
        "failed": sum(1 for v in views if v["state"] == "failed"),
        "compared": sum(1 for v in views if v["state"] == "swept" and v["socket_table"]["state"] == "read"),
        "wire_only_hosts": sorted(e["name"] for e in entries
                                  if e.get("network", {}).get("wire_only")),
    }}


def state_record(report: dict, entries: list[dict]) -> dict:
    """What a state directory keeps of a fleet run to say next time which hosts changed:
    each audited host's score and control statuses (``results``, so ``StateDir`` reads it)."""
    return {
        "fleet_schema_version": FLEET_SCHEMA_VERSION,
        "timing": {"started": report["generated"]},
        "score": report["summary"]["mean_score"],
        "results": [{"host": e["name"], "score": e["score"], "statuses": e["statuses"]}
                    for e in entries if e["state"] == "audited"],
    }


def state_key(source: str) -> str:
    """The state directory entry of a fleet: one history per fleet directory."""
    import hashlib

    path = os.path.abspath(source)
    digest = hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    base = re.sub(r"[^A-Za-z0-9._-]", "_", os.path.basename(path.rstrip("/"))).lstrip(".")[:60] or "fleet"
    return f"fleet-{base}-{digest}"


def changes(previous: dict, audited: list[dict], not_audited: list[dict]) -> dict:
    """Which hosts changed since the ``previous`` run (``state_record``): controls whose status moved,
    score before and after; hosts new to the fleet, gone from it, or no longer audited."""
    kept = [r for r in previous.get("results", []) if isinstance(r, dict) and isinstance(r.get("host"), str)]
    before = {r["host"]: r.get("statuses") or {} for r in kept}
    before_scores = {r["host"]: r.get("score") for r in kept}
    changed, new = [], []
    for host in audited:
        old = before.get(host["name"])
        if old is None:
            new.append(host["name"])
            continue
        moved = [{"id": cid, "before": old.get(cid), "after": status}
                 for cid, status in sorted(host["statuses"].items()) if old.get(cid) != status]
        moved += [{"id": cid, "before": status, "after": None}
                  for cid, status in sorted(old.items()) if cid not in host["statuses"]]
        if moved or before_scores.get(host["name"]) != host["score"]:
            changed.append({"name": host["name"], "score_before": before_scores.get(host["name"]),
                            "score_after": host["score"], "controls": moved})
    now = {h["name"] for h in audited} | {h["name"] for h in not_audited}
    return {
        "previous": (previous.get("timing") or {}).get("started"),
        "changed": changed,
        "new": new,
        "gone": sorted(set(before) - now),
        "no_longer_audited": sorted(set(before) & {h["name"] for h in not_audited}),
    }
