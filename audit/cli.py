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
    scan.add_argument("--quiet", "-q", action="store_true", help="no terminal summary, no progress bar")
    scan.add_argument("--no-color", action="store_true", help="plain terminal output")

    controls = sub.add_parser("controls", help="list the controls of a baseline")
    controls.add_argument("--baseline", default="gcux-qmail", metavar="NAME|PATH")
    controls.add_argument("--json", action="store_true", help="print JSON instead of a table")

    baseline = sub.add_parser("baseline", help="work with baseline files")
    bsub = baseline.add_subparsers(dest="baseline_command", metavar="ACTION")
    validate = bsub.add_parser("validate", help="validate a baseline file (schema, extends, control IDs)")
    validate.add_argument("file", metavar="FILE")
    return parser


def _load_baseline(ref: str):
    """Load a baseline and make sure every non-manual control has a registered check."""
    from hostaudit import baseline as baselines
    from hostaudit.registry import CHECKS, load_all

    loaded = baselines.load(ref)
    load_all()
    for control in loaded.controls:
        if control.manual:
            continue
        if control.id not in CHECKS:
            raise InputError(
                f"control {control.id!r} has no check in hostaudit {__version__}",
                where=loaded.files[-1],
                hint=baselines.did_you_mean(control.id, CHECKS),
            )
        missing = [p for p in CHECKS[control.id].params if control.parameters.get(p) is None]
        if missing:
            raise InputError(
                f"control {control.id!r} needs parameter(s) {', '.join(missing)}",
                where=loaded.files[-1],
            )
    return loaded


def _parse_formats(text: str) -> list[str]:
    formats = _split_list([text])
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
    output = os.path.abspath(args.output)
    if not os.path.isdir(output):
        raise InputError(f"output directory does not exist: {output}", where="--output")
    if {"json", "html"} & set(formats) and not os.access(output, os.W_OK | os.X_OK):
        raise InputError(f"output directory is not writable: {output}", where="--output")
    spec = TargetSpec(root=args.root, image=args.image, address=args.target,
                      network=args.network, udp_ports=args.udp_ports)

    with open_target(spec) as target:
        audit_plan = plan(baseline, target, only, skip)
        with contextlib.ExitStack() as progress_stack:
            advance = None
            if not args.quiet:
                from hostaudit.reports.terminal import probe_progress

                bar = probe_progress(_console(args, stderr=True), len(audit_plan.facts))
                advance = progress_stack.enter_context(bar)
            report = scan(target, baseline, only=only, skip=skip, audit_plan=audit_plan,
                          on_fact=advance).report
    _write_reports(report, formats, output)
    if "terminal" in formats and not args.quiet:
        from hostaudit.reports import terminal

        terminal.render(report, _console(args))

    reasons = gate_failures(report, args.fail_under, args.fail_on)
    for reason in reasons:
        print(f"gate failed: {reason}", file=sys.stderr)
    return ExitCode.GATE_FAILED if reasons else ExitCode.OK


def _write_reports(report: dict, formats: list[str], output: str) -> None:
    """Validate the report against its schema and write report.json/report.html atomically."""
    from hostaudit.reports import json_report
    from hostaudit.reports.atomic import write_atomic

    try:
        json_report.validate(report)
    except json_report.ReportInvalid as exc:
        # Our own output drifting from its published schema is a bug, not bad input.
        raise AuditError(f"internal: the report does not match its schema: {exc}") from exc
    rendered: dict[str, str] = {}
    if "json" in formats:
        rendered["report.json"] = json_report.render(report)
    if "html" in formats:
        from hostaudit.reports import html

        rendered["report.html"] = html.render(report)
    for name, text in rendered.items():
        write_atomic(os.path.join(output, name), text)


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

    table = Table(title=f"{baseline.name}: {len(rows)} controls", show_lines=False)
    for column in ("id", "severity", "modes", "title"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["id"], row["severity"], ",".join(row["modes"]), row["title"])
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
    commands = {"scan": cmd_scan, "controls": cmd_controls}
    if args.command == "baseline":
        if args.baseline_command != "validate":
            parser.parse_args(["baseline", "--help"])
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
        print(f"error: internal error: {type(exc).__name__}: {exc} (rerun with --debug)", file=sys.stderr)
        return int(ExitCode.AUDIT_FAILED)
