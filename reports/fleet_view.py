"""Views of a fleet report (``hostaudit fleet``): fleet.json, a terminal summary, one HTML page.

The HTML page is self-contained (inline CSS, no script, no network) and autoescaped; every
value passes ``reports.html.finalize`` so a hostile host or control name shows as escapes.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from urllib.parse import quote

from hostaudit.reports.json_report import ReportInvalid
from hostaudit.reports.present import coverage_text, percent, score_class
from hostaudit.schemas import json_path
from hostaudit.visible import terminal_text


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    schema = json.loads(resources.files("hostaudit.reports").joinpath("fleet.schema.json").read_text("utf-8"))
    return jsonschema.Draft202012Validator(schema)


@lru_cache(maxsize=4)
def _part_validator(name: str):
    import jsonschema

    defs = _validator().schema["$defs"]
    return jsonschema.Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": defs})


def part_problem(name: str, data: dict) -> str | None:
    """Where ``data`` does not match ``$defs/<name>`` (``host``, ``network``) of
    fleet.schema.json, as a JSON path and what is wrong there; None when it matches. For
    the parts a host's own files made: one host's malformed report spoils its entry, not
    the fleet report's validation."""
    import jsonschema

    error = jsonschema.exceptions.best_match(_part_validator(name).iter_errors(data))
    if error is None:
        return None
    return f"{json_path(error.absolute_path)}: not as fleet.schema.json describes it ({error.validator})"


def validate(fleet: dict) -> None:
    """Raise ReportInvalid naming the JSON path unless ``fleet`` matches fleet.schema.json."""
    errors = sorted(_validator().iter_errors(fleet), key=lambda e: [str(k) for k in e.absolute_path])
    if errors:
        raise ReportInvalid(errors[0].message, json_path=json_path(errors[0].absolute_path))


def render_json(fleet: dict) -> str:
    """fleet.json text: sorted keys, two-space indent, safe to ``cat`` (ASCII escapes)."""
    return json.dumps(fleet, indent=2, sort_keys=True) + "\n"


def _href(path: str | None) -> str | None:
    """A relative link to a host's report; each path segment percent-encoded."""
    if not path:
        return None
    return "/".join(quote(part, safe="") for part in path.split("/"))


def render_html(fleet: dict) -> str:
    """The fleet report as one HTML document."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    from hostaudit.reports.html import finalize

    env = Environment(finalize=finalize, loader=PackageLoader("hostaudit.reports", "templates"),
                      autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(percent=percent, score_class=score_class, coverage_text=coverage_text, href=_href)
    return env.get_template("fleet.html.j2").render(fleet=fleet)


def text_lines(fleet: dict, *, limit: int = 10, hosts_shown: int = 25) -> list[str]:
    """A plain summary for a terminal or a mail: the ``hosts_shown`` lowest-scoring hosts,
    every host not audited, the ``limit`` controls failing on most hosts, what changed."""
    s = fleet["summary"]
    out = [f"fleet {terminal_text(fleet['source'])}: {s['audited']} of {s['hosts']} hosts audited, "
           f"mean score {percent(s['mean_score'])}, lowest {percent(s['min_score'])}"]
    ranked = sorted(fleet["hosts"], key=lambda h: (h["score"] is None, h["score"] or 0, h["name"]))
    for host in ranked[:hosts_shown]:
        out.append(f"  {percent(host['score']):>5}  {terminal_text(host['name'])}  "
                   f"({host['coverage']['decided']}/{host['coverage']['selected']} decided, "
                   f"{len(host['failed'])} failed, {len(host['errors'])} error)")
    if len(ranked) > hosts_shown:
        out.append(f"  ... {len(ranked) - hosts_shown} more hosts (highest scores) in fleet.json and fleet.html")
    if fleet["not_audited"]:
        out.append(f"not audited ({len(fleet['not_audited'])}):")
        out += [f"  {e['state']:<11}  {terminal_text(e['name'])}: {terminal_text(e['reason'])}"
                for e in fleet["not_audited"]]
    out += _network_lines(fleet)
    if fleet["top_failures"]:
        out.append("controls failing on most hosts:")
        for entry in fleet["top_failures"][:limit]:
            extra = f", error on {len(entry['error_on'])}" if entry["error_on"] else ""
            out.append(f"  {len(entry['failed_on']):>4} hosts  {terminal_text(entry['id'])} "
                       f"({terminal_text(entry['severity'])}){extra}")
    changes = fleet["changes"]
    if changes is not None:
        moved = changes["changed"]
        out.append(f"since {terminal_text(changes['previous'] or 'no previous run')}: {len(moved)} host(s) changed"
                   + (f", new: {', '.join(map(terminal_text, changes['new']))}" if changes["new"] else "")
                   + (f", gone: {', '.join(map(terminal_text, changes['gone']))}" if changes["gone"] else ""))
        for host in moved:
            ids = ", ".join(terminal_text(f"{c['id']} {c['before']}->{c['after']}") for c in host["controls"][:5])
            out.append(f"  {terminal_text(host['name'])}: score {percent(host['score_before'])} -> "
                       f"{percent(host['score_after'])}" + (f"; {ids}" if ids else ""))
    return out


def _network_lines(fleet: dict) -> list[str]:
    """The network view, when hosts were swept: failed sweeps and ports open on the wire
    that a host's socket table does not show (the rest is in fleet.json and fleet.html)."""
    net = fleet["summary"].get("network")
    if not net:
        return []
    out = [f"network: {net['swept']} swept, {net['failed']} sweep(s) failed, "
           f"{net['compared']} compared with their socket table"]
    for host in fleet["hosts"] + fleet["not_audited"]:
        view = host.get("network")
        if view is None:
            continue
        name = terminal_text(host["name"])
        if view["state"] == "failed":
            out.append(f"  {name}: sweep not audited: {terminal_text(view['reason'])}")
        elif view["wire_only"]:
            ports = ", ".join(terminal_text(f"{p['port']}/{p['proto']}") for p in view["wire_only"])
            out.append(f"  {name}: open on the wire, not in its socket table: {ports}")
    return out
