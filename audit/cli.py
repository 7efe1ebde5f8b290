"""The ``hostaudit`` command line: thin commands over the engine, exit codes mapped here once.

Heavy modules (yaml, jsonschema, jinja2, rich) are imported inside the commands so that
``hostaudit --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from hostaudit import __version__
from hostaudit.errors import AuditError, ExitCode, HostauditError, InputError
from hostaudit.interrupt import Interrupted, signals_unwind, stop_children

FORMATS = ("json", "html", "terminal")
SEVERITIES = ("high", "medium", "low", "info")


def _split_list(values: list[str] | None) -> list[str]:
    """``--only a,b --only c`` -> [a, b, c]."""
    out: list[str] = []
    for value in values or []:
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return out


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hostaudit",
        description="Audit a Linux host or a golden image against a hardening baseline.",
        epilog="Exit codes: 0 compliant for the chosen gate, 1 gate failed, "
        "2 bad input, 3 the audit could not run, 128+N ended by signal N (SIGINT 130, "
        "SIGTERM 143, SIGHUP 129) after removing its temporary files.",
    )
    parser.add_argument("--version", action="version", version=f"hostaudit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    scan = sub.add_parser("scan", help="audit this host, a root directory or an image tarball")
    target = scan.add_mutually_exclusive_group()
    target.add_argument("--root", metavar="DIR", help="audit an unpacked root filesystem (image mode)")
    target.add_argument(
        "--image", metavar="FILE", help="unpack an image tarball (.tar, .tar.gz, .tar.xz) and audit it"
    )
    scan.add_argument("--network", action="store_true",
                      help="also look from the wire: nmap sweeps, greetings, TLS (live: this host's "
                      "loopback; with --target: only net-mode controls)")
    scan.add_argument("--target", metavar="ADDR",
                      help="audit ADDR over the network from here (implies --network)")
    scan.add_argument("--udp-ports", default="all", metavar="SPEC",
                      help="UDP sweep coverage: all, top:N or a list like 53,161 (default: all, "
                      "as the document sweeps; about 14 s behind a DROP firewall)")
    scan.add_argument("--baseline", default="gcux-qmail", metavar="NAME|PATH",
                      help="shipped baseline name or YAML file (default: gcux-qmail)")
    scan.add_argument("--only", action="append", metavar="IDS",
                      help="only these control IDs or prefixes (comma-separated; 'sysctl.' for a section)")
    scan.add_argument("--skip", action="append", metavar="IDS", help="skip these control IDs or prefixes")
    scan.add_argument("--output", "-o", default=".", metavar="DIR",
                      help="directory for report.json and report.html (default: current directory)")
    scan.add_argument("--format", default="json,html,terminal", metavar="LIST",
                      help="comma-separated: json, html, terminal (default: all three)")
    scan.add_argument("--fail-under", type=float, metavar="SCORE",
                      help="exit 1 when the overall score is below SCORE (0-100)")
    scan.add_argument("--fail-on", choices=SEVERITIES, metavar="SEVERITY",
                      help="exit 1 when a control of this severity or higher fails or cannot be decided")
    scan.add_argument("--state-dir", metavar="DIR",
                      help="keep this run in DIR's history (created 0700; e.g. /var/lib/hostaudit) "
                      "and add what changed since the last run of this target to the report")
    scan.add_argument("--keep", type=int, default=30, metavar="N",
                      help="runs kept per target in --state-dir (default: 30)")
    scan.add_argument("--quiet-unless-changed", action="store_true",
                      help="for cron: print nothing and exit 0 when nothing changed since the last "
                      "run, else a plain-text summary of the changes (needs --state-dir)")
    scan.add_argument("--prometheus", metavar="FILE",
                      help="also write metrics for node_exporter's textfile collector to FILE")
    scan.add_argument("--quiet", "-q", action="store_true", help="no terminal summary, no progress bar")
    scan.add_argument("--no-color", action="store_true", help="plain terminal output")

    controls = sub.add_parser("controls", help="list the controls of a baseline")
    controls.add_argument("--baseline", default="gcux-qmail", metavar="NAME|PATH")
    controls.add_argument("--json", action="store_true", help="print JSON instead of a table")

    explain = sub.add_parser("explain", help="what a control checks, why, how in each mode, and how to fix it",
                             description="Explain one control: its rationale, how it is checked in each "
                             "mode (the facts it reads), its parameters, remediation and references.",
                             epilog="example: hostaudit explain mail.databytes")
    explain.add_argument("control_id", metavar="ID")
    explain.add_argument("--baseline", default="gcux-qmail", metavar="NAME|PATH",
                         help="shipped baseline name or YAML file (default: gcux-qmail)")
    explain.add_argument("--json", action="store_true", help="print JSON instead of text")

    diff = sub.add_parser("diff", help="what changed between two reports (controls and facts)",
                          description="Compare two report.json files: last night and tonight, or a "
                          "golden image and the host built from it. Writes diff.json and shows "
                          "what changed: control verdicts first, then the facts underneath.")
    diff.add_argument("old", metavar="OLD.json")
    diff.add_argument("new", metavar="NEW.json")
    diff.add_argument("--output", "-o", default=".", metavar="DIR",
                      help="directory for diff.json and diff.html (default: current directory)")
    diff.add_argument("--format", default="json,terminal", metavar="LIST",
                      help="comma-separated: json, html, terminal (default: json,terminal)")

    baseline = sub.add_parser("baseline", help="work with baseline files")
    # required: ``hostaudit baseline`` alone is bad input (usage, exit 2), not a help page.
    bsub = baseline.add_subparsers(dest="baseline_command", metavar="ACTION", required=True)
    validate = bsub.add_parser("validate", help="validate a baseline file (schema, extends, control IDs)")
    validate.add_argument("file", metavar="FILE")

    from hostaudit import cli_fleet  # collect, evaluate, fleet: their own module

    cli_fleet.add_parsers(sub, severities=SEVERITIES)
    return parser


def _load_baseline(ref: str):
    """Load a baseline checked against this version's checks (see ``baseline.load_checked``)."""
    from hostaudit import baseline as baselines

    return baselines.load_checked(ref)


def _parse_formats(text: str) -> list[str]:
    """``json,html`` -> [json, html]; an empty list (``''``, ``,``) is bad input, not a run
    that silently writes nothing."""
    formats = _split_list([text])
    if not formats:
        raise InputError(f"no format given in {text!r} (choose from {', '.join(FORMATS)})",
                         where="--format")
    for fmt in formats:
        if fmt not in FORMATS:
            raise InputError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})", where="--format")
    return formats


def gate_failures(report: dict, fail_under: float | None, fail_on: str | None) -> list[str]:
    """Why the report fails the chosen gate (empty: it passes)."""
    reasons = []
    if fail_under is not None:
        score = report["score"]
        if score is None or score < fail_under:
            reasons.append(f"score {score} is below {fail_under:g}")
    if fail_on is not None:
        threshold = SEVERITIES.index(fail_on)
        bad = [
            r["id"]
            for r in report["results"]
            if r["status"] in ("fail", "error") and SEVERITIES.index(r["severity"]) <= threshold
        ]
        if bad:
            reasons.append(f"{len(bad)} control(s) of severity {fail_on} or higher failed or erred: "
                           + ", ".join(bad[:10]) + (" ..." if len(bad) > 10 else ""))
    return reasons


def _console(args, *, stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, no_color=args.no_color or "NO_COLOR" in os.environ,
                   highlight=False)


def cmd_scan(args) -> int:
    """Audit the chosen target and write the reports."""
    import contextlib

    from hostaudit.scan import TargetSpec, open_target, plan, scan

    formats = _parse_formats(args.format)
    if args.fail_under is not None and not 0 <= args.fail_under <= 100:
        raise InputError(f"--fail-under {args.fail_under:g} is not between 0 and 100")
    baseline = _load_baseline(args.baseline)
    only, skip = _split_list(args.only), _split_list(args.skip)
    output = _output_directory(args.output, formats)
    spec = TargetSpec(root=args.root, image=args.image, address=args.target,
                      network=args.network, udp_ports=args.udp_ports)
    state = None
    if args.quiet_unless_changed:
        if not args.state_dir:
            raise InputError("--quiet-unless-changed needs --state-dir (changes since what?)")
        args.quiet = True
    if args.state_dir:
        from hostaudit.state import StateDir

        state = StateDir(args.state_dir, keep=args.keep)
        state.prepare()

    with open_target(spec, invocation=sys.argv) as target, contextlib.ExitStack() as stack:
        if state is not None:
            stack.enter_context(state.locked())
        audit_plan = plan(baseline, target, only, skip)
        with contextlib.ExitStack() as progress_stack:
            advance = None
            if not args.quiet:
                from hostaudit.reports.terminal import probe_progress

                bar = probe_progress(_console(args, stderr=True), len(audit_plan.facts))
                advance = progress_stack.enter_context(bar)
            report = scan(target, baseline, only=only, skip=skip, audit_plan=audit_plan,
                          on_fact=advance).report
        if state is not None:
            _record_drift(state, report)
    _write_reports(report, formats, output, metrics=args.prometheus)
    if args.quiet_unless_changed and report["drift"]["changed"]:
        from hostaudit.reports import diff_view

        print("\n".join(diff_view.text_lines(_drift_as_diff(report))))
    if "terminal" in formats and not args.quiet:
        from hostaudit.reports import terminal

        terminal.render(report, _console(args))

    reasons = gate_failures(report, args.fail_under, args.fail_on)
    for reason in reasons:
        print(f"gate failed: {reason}", file=sys.stderr)
    return ExitCode.GATE_FAILED if reasons else ExitCode.OK


def _record_drift(state, report: dict) -> None:
    """Compare ``report`` with the last kept run of its target, add ``drift``, keep it."""
    from hostaudit.compare import drift
    from hostaudit.state import target_key

    key = target_key(report["target"])
    previous = state.previous(key)
    report["drift"] = drift(previous.report, report, previous_file=previous.file, skipped=previous.skipped)
    state.record(key, report)


def _drift_as_diff(report: dict) -> dict:
    """A report's drift section in the shape the diff views read."""
    from hostaudit.compare import _run_summary

    drift = report["drift"]
    before = drift["previous"] or {"started": "(none)", "target": _run_summary(report)["target"]}
    return {"before": before, "after": _run_summary(report), "context": drift["context"],
            "score": drift["score"], "coverage": {"before": None, "after": report["coverage"]},
            "changed": drift["changed"], "controls": drift["controls"], "facts": drift["facts"]}


def _write_reports(report: dict, formats: list[str], output: str, *, metrics: str | None = None) -> None:
    """Validate the report against its schema and write report.json/report.html (and the
    Prometheus ``metrics`` file) as one set: all replaced, or (full disk, any write error:
    exit 3 naming the file) none."""
    from hostaudit.reports import json_report
    from hostaudit.reports.atomic import write_set

    try:
        json_report.validate(report)
    except json_report.ReportInvalid as exc:
        # Our own output drifting from its published schema is a bug, not bad input.
        raise AuditError(f"internal: the report does not match its schema: {exc}") from exc
    rendered: dict[str, str] = {}
    if "json" in formats:
        rendered[os.path.join(output, "report.json")] = json_report.render(report)
    if "html" in formats:
        from hostaudit.reports import html

        rendered[os.path.join(output, "report.html")] = html.render(report)
    if metrics:
        from hostaudit.reports import prometheus

        rendered[os.path.abspath(metrics)] = prometheus.render(report)
    write_set(rendered)


def cmd_explain(args) -> int:
    """Explain one control of a baseline."""
    import json

    from hostaudit import baseline as baselines
    from hostaudit import explain

    loaded = _load_baseline(args.baseline)
    try:
        control = loaded.control(args.control_id)
    except KeyError:
        raise InputError(f"unknown control {args.control_id!r} in baseline {loaded.name}",
                         hint=baselines.did_you_mean(args.control_id, loaded.ids)) from None
    data = explain.describe(control)
    print(json.dumps(data, indent=2) if args.json else explain.render_text(data))
    return ExitCode.OK


def cmd_diff(args) -> int:
    """Compare two reports; write diff.json (and diff.html) and print what changed."""
    from hostaudit.compare import compare
    from hostaudit.reports import diff_view, json_report
    from hostaudit.reports.atomic import write_set

    formats = _parse_formats(args.format)
    output = _output_directory(args.output, formats)
    from hostaudit.redact import redact

    # diff.json's conformance to diff.schema.json is proven by the tests; validating it here
    # would double the run time of a command that cron and CI call often. A report from an
    # older hostaudit may predate redaction: nothing unredacted goes out.
    diff = redact(compare(json_report.load(args.old), json_report.load(args.new)))
    rendered = {}
    if "json" in formats:
        rendered[os.path.join(output, "diff.json")] = diff_view.render_json(diff)
    if "html" in formats:
        rendered[os.path.join(output, "diff.html")] = diff_view.render_html(diff)
    write_set(rendered)
    if "terminal" in formats:
        print("\n".join(diff_view.text_lines(diff)))
    return ExitCode.OK


def _output_directory(path: str, formats: list[str]) -> str:
    """The absolute output directory, checked before any work is done."""
    output = os.path.abspath(path)
    if not os.path.isdir(output):
        raise InputError(f"output directory does not exist: {output}", where="--output")
    if {"json", "html"} & set(formats) and not os.access(output, os.W_OK | os.X_OK):
        raise InputError(f"output directory is not writable: {output}", where="--output")
    return output


def cmd_controls(args) -> int:
    """List a baseline's controls with severity and modes."""
    import json

    baseline = _load_baseline(args.baseline)
    rows = [
        {"id": c.id, "severity": c.severity, "modes": list(c.modes) or ["manual"], "title": c.title}
        for c in baseline.controls
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return ExitCode.OK
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from hostaudit.visible import terminal_text

    # A site baseline's words are cells of Text, never markup: ``[bold]`` in a title prints.
    table = Table(title=Text(terminal_text(f"{baseline.name}: {len(rows)} controls")), show_lines=False)
    for column in ("id", "severity", "modes", "title"):
        table.add_column(column)
    for row in rows:
        table.add_row(*(Text(terminal_text(cell)) for cell in
                        (row["id"], row["severity"], ",".join(row["modes"]), row["title"])))
    Console(highlight=False).print(table)
    return ExitCode.OK


def cmd_baseline_validate(args) -> int:
    """Validate a baseline file: schema, extends chain, control IDs known to this version."""
    if not os.path.isfile(args.file):
        raise InputError(f"no such file: {args.file}")
    baseline = _load_baseline(args.file if os.sep in args.file else os.path.join(".", args.file))
    chain = " <- ".join(baseline.files)
    print(f"ok: {baseline.name}: {len(baseline.controls)} controls ({chain})")
    return ExitCode.OK


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    commands = {"scan": cmd_scan, "controls": cmd_controls, "diff": cmd_diff, "explain": cmd_explain}
    from hostaudit.cli_fleet import COMMANDS as fleet_commands

    commands.update(fleet_commands)
    if args.command == "baseline":
        handler = cmd_baseline_validate
    elif args.command in commands:
        handler = commands[args.command]
    else:
        parser.print_help()
        return ExitCode.BAD_INPUT
    try:
        # SIGTERM and SIGHUP unwind like Ctrl-C, so an unpacked image is removed on all three.
        with signals_unwind():
            return int(handler(args))
    except HostauditError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt as exc:
        signo = exc.signo if isinstance(exc, Interrupted) else signal.SIGINT
        stop_children()  # commands of abandoned probes; Ctrl-C reaches them, SIGTERM does not
        print(f"interrupted by {signal.Signals(signo).name}", file=sys.stderr)
        return 128 + signo
    except Exception as exc:  # the one place internal errors become exit 3
        if getattr(args, "debug", False):
            raise
        from hostaudit.visible import terminal_text

        print(f"error: internal error: {type(exc).__name__}: {terminal_text(str(exc))} (rerun with --debug)",
              file=sys.stderr)
        return int(ExitCode.AUDIT_FAILED)
