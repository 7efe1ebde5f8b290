"""The ``collect``, ``evaluate`` and ``fleet`` commands: audits split between the targets (which
collect facts) and a central machine (which judges them and summarises a fleet).

Kept apart from ``hostaudit.cli`` so that both grow without stepping on each other; the CLI
adds these parsers and dispatches to the ``COMMANDS`` here, with its exit-code mapping.
"""

from __future__ import annotations

import os
import sys

from hostaudit.errors import ExitCode, InputError


def add_parsers(sub, *, severities: tuple[str, ...]) -> None:
    """Add the ``collect``, ``evaluate`` and ``fleet`` subcommands to ``sub``."""
    collect = sub.add_parser(
        "collect", help="gather the facts a baseline needs into one bundle (no verdicts)",
        description="Collect, read-only, exactly the facts the baseline's selected checks need "
        "(redacted, as in reports) into one JSON bundle, for `hostaudit evaluate` elsewhere.",
        epilog="example: hostaudit collect --baseline site.yaml -o /var/tmp/mail1.facts.json")
    target = collect.add_mutually_exclusive_group()
    target.add_argument("--root", metavar="DIR", help="collect from an unpacked root filesystem (image mode)")
    target.add_argument("--image", metavar="FILE", help="unpack an image tarball and collect from it")
    collect.add_argument("--baseline", default="gcux-qmail", metavar="NAME|PATH",
                         help="the baseline whose selected checks decide which facts are collected")
    collect.add_argument("--only", action="append", metavar="IDS", help="only these control IDs or prefixes")
    collect.add_argument("--skip", action="append", metavar="IDS", help="skip these control IDs or prefixes")
    collect.add_argument("--output", "-o", default="facts.json", metavar="FILE",
                         help="bundle file, written 0600 (default: facts.json; .gz compresses)")
    collect.add_argument("--quiet", "-q", action="store_true", help="no progress bar, no summary line")
    collect.add_argument("--no-color", action="store_true", help="plain terminal output")

    evaluate = sub.add_parser(
        "evaluate", help="turn a fact bundle into reports, with no access to the host",
        description="Judge a bundle from `hostaudit collect` against a baseline and write the "
        "usual reports; the options and exit codes are those of `hostaudit scan`.",
        epilog="example: hostaudit evaluate mail1.facts.json --baseline site.yaml -o out/mail1")
    evaluate.add_argument("bundle", metavar="BUNDLE", help="a fact bundle written by `hostaudit collect`")
    evaluate.add_argument("--baseline", default="gcux-qmail", metavar="NAME|PATH",
                          help="shipped baseline name or YAML file (default: gcux-qmail)")
    evaluate.add_argument("--only", action="append", metavar="IDS",
                          help="only these control IDs or prefixes (default: the bundle's --only/--skip)")
    evaluate.add_argument("--skip", action="append", metavar="IDS", help="skip these control IDs or prefixes")
    evaluate.add_argument("--output", "-o", default=".", metavar="DIR",
                          help="directory for report.json and report.html (default: current directory)")
    evaluate.add_argument("--format", default="json,html,terminal", metavar="LIST",
                          help="comma-separated: json, html, terminal (default: all three)")
    evaluate.add_argument("--fail-under", type=float, metavar="SCORE",
                          help="exit 1 when the overall score is below SCORE (0-100)")
    evaluate.add_argument("--fail-on", choices=severities, metavar="SEVERITY",
                          help="exit 1 when a control of this severity or higher fails or cannot be decided")
    evaluate.add_argument("--quiet", "-q", action="store_true", help="no terminal summary")
    evaluate.add_argument("--no-color", action="store_true", help="plain terminal output")

    fleet = sub.add_parser(
        "fleet", help="sum up many hosts' reports or bundles in one fleet report",
        description="Read DIR/<host>/report.json (or DIR/<host>/facts.json[.gz], evaluated here "
        "in parallel, or DIR/<host>/not-audited.json for a host that could not be audited) and "
        "write fleet.json and fleet.html: hosts x sections by score, the controls failing on "
        "most hosts, per-host score and coverage with links to each host's report. A host's "
        "DIR/<host>/net/report.json (`hostaudit scan --target` of its address) is joined with "
        "its socket table: ports open on the wire only, and listeners the wire does not reach.",
        epilog="example: hostaudit fleet fetched/ -o /srv/www/fleet --state-dir /var/lib/hostaudit")
    fleet.add_argument("directory", metavar="DIR",
                       help="one subdirectory per host, holding its report.json, bundle or not-audited marker")
    fleet.add_argument("--baseline", default="gcux-qmail", metavar="NAME|PATH",
                       help="baseline for hosts that sent a bundle (default: gcux-qmail)")
    fleet.add_argument("--output", "-o", default=".", metavar="DIR",
                       help="directory for fleet.json, fleet.html and hosts/<name>/ reports of bundles")
    fleet.add_argument("--format", default="json,html,terminal", metavar="LIST",
                       help="comma-separated: json, html, terminal (default: all three)")
    fleet.add_argument("--host-format", default="json,html", metavar="LIST",
                       help="reports written for each evaluated bundle: json or json,html (default)")
    fleet.add_argument("--hosts", metavar="NAMES",
                       help="only these hosts (comma-separated; e.g. the play's hosts); one without "
                       "a directory is listed as not audited")
    fleet.add_argument("--workers", type=int, metavar="N",
                       help="processes evaluating bundles (default: one per core)")
    fleet.add_argument("--state-dir", metavar="DIR",
                       help="keep this fleet run in DIR and say which hosts changed since the last one")
    fleet.add_argument("--keep", type=int, default=30, metavar="N",
                       help="fleet runs kept in --state-dir (default: 30)")


def cmd_collect(args) -> int:
    """Collect the facts the baseline's selected checks need from the target into a bundle."""
    import contextlib

    from hostaudit import bundle as bundles
    from hostaudit.cli import _console, _load_baseline, _split_list, print_tracebacks
    from hostaudit.scan import TargetSpec, collect, open_target, plan

    baseline = _load_baseline(args.baseline)
    only, skip = _split_list(args.only), _split_list(args.skip)
    output = os.path.abspath(args.output)
    if os.path.isdir(output):
        raise InputError("is a directory; name the bundle file (e.g. facts.json)", where=output)
    if not os.path.isdir(os.path.dirname(output)):
        raise InputError("the bundle's directory does not exist", where=output)
    spec = TargetSpec(root=args.root, image=args.image)
    with open_target(spec, invocation=sys.argv) as target:
        audit_plan = plan(baseline, target, only, skip)
        with contextlib.ExitStack() as stack:
            advance = None
            if not args.quiet:
                from hostaudit.reports.terminal import probe_progress

                advance = stack.enter_context(
                    probe_progress(_console(args, stderr=True), len(audit_plan.facts)))
            crashed: dict[str, str] = {}
            bundle = collect(target, baseline, only=only, skip=skip, audit_plan=audit_plan,
                             on_fact=advance, on_crash=crashed.__setitem__)
    if args.debug:
        print_tracebacks(crashed)
    bundles.write(bundle, output)
    if not args.quiet:
        failed = sum(1 for v in bundle["facts"].values() if bundles.is_error(v))
        print(f"collected {len(bundle['facts'])} facts ({failed} could not be read) into {output}",
              file=sys.stderr)
    return ExitCode.OK


def cmd_evaluate(args) -> int:
    """Turn a fact bundle into reports against a baseline; gate as ``scan`` does."""
    from hostaudit import bundle as bundles
    from hostaudit.cli import (
        _console,
        _load_baseline,
        _output_directory,
        _parse_formats,
        _split_list,
        _write_reports,
        gate_failures,
    )
    from hostaudit.scan import evaluate

    formats = _parse_formats(args.format)
    if args.fail_under is not None and not 0 <= args.fail_under <= 100:
        raise InputError(f"--fail-under {args.fail_under:g} is not between 0 and 100")
    baseline = _load_baseline(args.baseline)
    output = _output_directory(args.output, formats)
    bundle = bundles.load(args.bundle)
    only, skip = _split_list(args.only), _split_list(args.skip)
    # Neither given: the selection the bundle was collected for.
    report = evaluate(bundle, baseline, only=only if args.only or args.skip else None,
                      skip=skip if args.only or args.skip else None).report
    _write_reports(report, formats, output)
    if "terminal" in formats and not args.quiet:
        from hostaudit.reports import terminal

        terminal.render(report, _console(args))
    reasons = gate_failures(report, args.fail_under, args.fail_on)
    for reason in reasons:
        print(f"gate failed: {reason}", file=sys.stderr)
    return ExitCode.GATE_FAILED if reasons else ExitCode.OK


def cmd_fleet(args) -> int:
    """Sum up a directory of per-host reports, bundles and not-audited markers."""
    from hostaudit import fleet as fleets
    from hostaudit.cli import _output_directory, _parse_formats, _split_list, make_directories
    from hostaudit.errors import AuditError
    from hostaudit.reports import fleet_view
    from hostaudit.reports.atomic import write_set

    formats = _parse_formats(args.format)
    host_formats = _split_list([args.host_format])
    if "json" not in host_formats or not set(host_formats) <= {"json", "html"}:
        raise InputError(f"{args.host_format!r}: choose json or json,html", where="--host-format")
    if args.workers is not None and args.workers < 1:
        raise InputError("must be at least 1", where="--workers")
    output = _output_directory(args.output, formats + ["json"])
    state = None
    if args.state_dir:
        from hostaudit.state import StateDir

        state = StateDir(args.state_dir, keep=args.keep)
        state.prepare()
    entries = fleets.gather(args.directory, output=output, baseline_ref=args.baseline,
                            formats=host_formats, workers=args.workers,
                            hosts=_split_list([args.hosts]) if args.hosts is not None else None)
    if state is not None:
        key = fleets.state_key(args.directory)
        with state.locked():
            previous = state.previous(key)
            fleet = fleets.build(args.directory, entries, previous=previous.report or {})
            state.record(key, fleets.state_record(fleet, entries))
    else:
        fleet = fleets.build(args.directory, entries)
    try:
        fleet_view.validate(fleet)
    except fleet_view.ReportInvalid as exc:
        raise AuditError(f"internal: the fleet report does not match its schema: {exc}") from exc
    rendered = {}
    if "json" in formats:
        rendered[os.path.join(output, "fleet.json")] = fleet_view.render_json(fleet)
    if "html" in formats:
        rendered[os.path.join(output, "fleet.html")] = fleet_view.render_html(fleet)
    if rendered:  # hosts evaluated here made it already; reports and markers alone do not
        make_directories(output)
    write_set(rendered)
    if "terminal" in formats:
        print("\n".join(fleet_view.text_lines(fleet)))
    return ExitCode.OK


COMMANDS = {"collect": cmd_collect, "evaluate": cmd_evaluate, "fleet": cmd_fleet}
