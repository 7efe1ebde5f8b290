"""The ``hostaudit`` command line: thin commands over the engine, exit codes mapped here once.

Heavy modules (yaml, jsonschema, jinja2, rich) are imported inside the commands so that
``hostaudit --help`` stays fast.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import stat
import sys
import textwrap

from hostaudit import __version__
from hostaudit.errors import AuditError, ExitCode, HostauditError, InputError
from hostaudit.interrupt import Interrupted, signals_unwind, stop_children
from hostaudit.model import Severity

FORMATS = ("json", "html", "terminal", "junit", "sarif")
# What each file format writes into the output directory, beside report.json.
FILES = {"json": "report.json", "html": "report.html", "junit": "report.junit.xml",
         "sarif": "report.sarif"}
SEVERITIES = Severity.order()


def _split_list(values: list[str] | None) -> list[str]:
    """``--only a,b --only c`` -> [a, b, c]."""
    out: list[str] = []
    for value in values or []:
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return out


class _Parser(argparse.ArgumentParser):
    """argparse that names the nearest choice for a mistyped one, as control IDs do:
    ``hostaudit sacn`` -> ``invalid choice: 'sacn' (...); did you mean 'scan'?``."""

    def _check_value(self, action, value):
        if action.choices is not None and value not in action.choices:
            from hostaudit.baseline import did_you_mean

            names = [str(c) for c in action.choices]
            message = f"invalid choice: {value!r} (choose from {', '.join(names)})"
            hint = did_you_mean(str(value), names)
            raise argparse.ArgumentError(action, f"{message}; {hint}" if hint else message)


def _lower(text: str) -> str:
    """Choices are matched in any case: ``--fail-on HIGH`` is ``--fail-on high``."""
    return text.lower()


def _command(sub, name: str, help: str, description: str, examples: str) -> argparse.ArgumentParser:
    """A subcommand whose help page has a description and examples (kept as written)."""
    return sub.add_parser(name, help=help, description=textwrap.fill(description, 79),
                          epilog="examples:\n" + textwrap.indent(textwrap.dedent(examples).strip("\n"), "  "),
                          formatter_class=argparse.RawDescriptionHelpFormatter)


MAIN_EXAMPLES = """\
examples:
  hostaudit scan                             audit this host; report.json, report.html, summary
  hostaudit scan --root /srv/rootfs          audit an unpacked image
  hostaudit scan --fail-on high -o /var/lib/hostaudit
  hostaudit explain mail.databytes           what a control checks and how to fix it
  source <(hostaudit completion bash)        tab completion in bash

Exit codes: 0 compliant for the chosen gate, 1 gate failed, 2 bad input, 3 the audit could
not run, 128+N ended by signal N (SIGINT 130, SIGTERM 143, SIGHUP 129) after removing its
temporary files."""


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hostaudit",
        description="Audit a Linux host or a golden image against a hardening baseline.",
        epilog=MAIN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"hostaudit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _scan_parser(sub)
    _controls_parser(sub)
    _explain_parser(sub)
    _diff_parser(sub)
    _baseline_parser(sub)
    _completion_parser(sub)
    _plan_parser(sub)
    from hostaudit import cli_fleet  # collect, evaluate, fleet: their own module

    cli_fleet.add_parsers(sub, severities=SEVERITIES)
    return parser


def _scan_parser(sub) -> argparse.ArgumentParser:
    scan = _command(sub, "scan", "audit this host, a root directory or an image tarball",
                    "Audit this host (live), an unpacked root or an image tarball (image), or an "
                    "address (net) against a baseline. Writes report.json and report.html, prints the "
                    "failed controls and, last, a summary with the gate's verdict and the report paths.",
                    """
                    hostaudit scan
                    hostaudit scan --root /srv/images/mail-rootfs --format json -o /srv/audit
                    hostaudit scan --image mail.tar.xz --fail-on high
                    hostaudit scan --only sysctl. --only mail.databytes --verbose
                    hostaudit scan --target 192.0.2.2 --udp-ports top:1000
                    hostaudit scan --state-dir /var/lib/hostaudit -o /var/lib/hostaudit --quiet-unless-changed
                    """)
    target = scan.add_mutually_exclusive_group()
    target.add_argument("--root", metavar="DIR", help="audit an unpacked root filesystem (image mode)")
    target.add_argument(
        "--image", metavar="FILE",
        help="audit an image: a root filesystem tarball (plain, gz, xz, bz2, zst), a docker/podman "
        "save archive, an OCI layout (directory or tar), or a disk image (raw MBR/GPT, qcow2) whose "
        "filesystems are mounted read-only; the format is read from the content")
    scan.add_argument("--platform", metavar="OS/ARCH",
                      help="the image to audit in a multi-platform --image (default: this machine's, "
                      "e.g. linux/amd64)")
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
                      help="directory for report.json and report.html, created 0750 (with its parents) "
                      "when missing (default: current directory)")
    fmt = scan.add_argument("--format", default="json,html,terminal", metavar="LIST",
                            help="comma-separated, any case: json, html, terminal, junit (report.junit.xml), "
                            "sarif (report.sarif) (default: json,html,terminal)")
    fmt.completion_words = FORMATS  # type: ignore[attr-defined]
    scan.add_argument("--fail-under", type=float, metavar="SCORE",
                      help="exit 1 when the overall score is below SCORE (0-100)")
    scan.add_argument("--fail-on", type=_lower, choices=SEVERITIES,
                      help="exit 1 when a control of this severity or higher fails or cannot be "
                      f"decided (one of {', '.join(SEVERITIES)}; any case; with --gate-against: newly)")
    scan.add_argument("--gate-against", metavar="REPORT.json",
                      help="exit 1 only for controls that fail or cannot be decided now and did "
                      "neither in REPORT.json (the last accepted release's report)")
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
    scan.add_argument("--quiet", "-q", action="store_true",
                      help="no terminal report, no report paths, no progress bar")
    scan.add_argument("--verbose", "-v", action="store_true",
                      help="every evidence line of each finding and the full lists of places searched")
    scan.add_argument("--no-color", action="store_true", help="plain terminal output")
    return scan


def _controls_parser(sub) -> argparse.ArgumentParser:
    controls = _command(sub, "controls", "list the controls of a baseline",
                        "List the controls of a baseline (shipped or a site's, after its extends and "
                        "overrides): ID, severity, the modes it is checked in, and its title.",
                        """
                        hostaudit controls
                        hostaudit controls --baseline site.yaml --json
                        hostaudit controls --ids | grep '^sysctl\\.'
                        """)
    controls.add_argument("--baseline", default="gcux-qmail", metavar="NAME|PATH",
                          help="shipped baseline name or YAML file (default: gcux-qmail)")
    shape = controls.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="print JSON instead of a table")
    shape.add_argument("--ids", action="store_true", help="print only the control IDs, one a line")
    return controls


def _explain_parser(sub) -> argparse.ArgumentParser:
    explain = _command(sub, "explain", "what a control checks, why, how in each mode, and how to fix it",
                       "Explain one control: its rationale, how it is checked in each mode (the facts "
                       "it reads), its parameters, remediation and references.",
                       """
                       hostaudit explain mail.databytes
                       hostaudit explain ssh.port --baseline site.yaml
                       hostaudit explain fw.default-policy --json
                       """)
    explain.add_argument("control_id", metavar="ID", help="the control, e.g. mail.databytes")
    explain.add_argument("--baseline", default="gcux-qmail", metavar="NAME|PATH",
                         help="shipped baseline name or YAML file (default: gcux-qmail)")
    explain.add_argument("--json", action="store_true", help="print JSON instead of text")
    return explain


def _diff_parser(sub) -> argparse.ArgumentParser:
    diff = _command(sub, "diff", "what changed between two reports (controls and facts)",
                    "Compare two report.json files: last night and tonight, or a golden image and "
                    "the host built from it. Writes diff.json and shows what changed: control "
                    "verdicts first, then the facts underneath.",
                    """
                    hostaudit diff old/report.json new/report.json
                    hostaudit diff golden.json live.json --format html,json -o /srv/www/audit
                    """)
    diff.add_argument("old", metavar="OLD.json", help="the earlier report (or the golden image's)")
    diff.add_argument("new", metavar="NEW.json", help="the later report (or the host's)")
    diff.add_argument("--output", "-o", default=".", metavar="DIR",
                      help="directory for diff.json and diff.html, created 0750 when missing "
                      "(default: current directory)")
    fmt = diff.add_argument("--format", default="json,terminal", metavar="LIST",
                            help="comma-separated: json, html, terminal, any case (default: json,terminal)")
    fmt.completion_words = FORMATS  # type: ignore[attr-defined]
    return diff


def _baseline_parser(sub) -> argparse.ArgumentParser:
    baseline = _command(sub, "baseline", "work with baseline files",
                        "Work with baseline files: a site baseline extends the shipped one and "
                        "changes only what differs.",
                        """
                        hostaudit baseline validate site.yaml
                        """)
    # required: ``hostaudit baseline`` alone is bad input (usage, exit 2), not a help page.
    bsub = baseline.add_subparsers(dest="baseline_command", metavar="ACTION", required=True)
    validate = _command(bsub, "validate", "validate a baseline file (schema, extends, control IDs)",
                        "Validate a baseline file: its schema, its extends chain, that every control "
                        "has a check in this version and gets the parameters that check reads, with "
                        "the right types. Errors name the file, line and JSON path.",
                        """
                        hostaudit baseline validate site.yaml
                        hostaudit baseline validate /etc/hostaudit/site.yaml && systemctl start hostaudit
                        """)
    validate.add_argument("file", metavar="FILE", help="the baseline YAML file")
    return baseline


def _completion_parser(sub) -> argparse.ArgumentParser:
    completion = _command(sub, "completion", "print a shell completion script",
                          "Print a completion script for SHELL: subcommands, options, their choices "
                          "and control IDs (asked from 'hostaudit controls --ids' as you type).",
                          """
                          source <(hostaudit completion bash)
                          hostaudit completion bash > /etc/bash_completion.d/hostaudit
                          """)
    completion.add_argument("shell", type=_lower, choices=("bash",), help="the shell (bash)")
    return completion


def _plan_parser(sub) -> argparse.ArgumentParser:
    plan = _command(sub, "plan", "write a remediation plan (shell or Ansible) for a report's failures",
                    "Write a remediation plan for the failed controls of a report: a POSIX shell "
                    "script (DRY_RUN=1 shows what it would change) or an Ansible playbook, each step "
                    "named by its control ID, for the report's OS family. hostaudit changes nothing: "
                    "review the plan, then run it. Controls that need a person are listed in it.",
                    """
                    hostaudit plan report.json -o fix.sh && DRY_RUN=1 sh fix.sh
                    hostaudit plan report.json --format ansible -o fix.yml
                    hostaudit plan report.json --skip logs.,maint.auto-patches -o fix.sh
                    """)
    plan.add_argument("report", metavar="REPORT.json", help="a report.json written by hostaudit scan")
    plan.add_argument("--format", type=_lower, choices=("sh", "ansible"), default="sh",
                      help="sh (POSIX shell script) or ansible (playbook) (default: sh)")
    plan.add_argument("--output", "-o", metavar="FILE",
                      help="write the plan here (atomically) instead of to standard output")
    plan.add_argument("--baseline", metavar="NAME|PATH",
                      help="baseline whose fixes to use (default: the report's, by name)")
    plan.add_argument("--family", type=_lower, choices=("debian", "rhel"),
                      help="OS family of the target (default: from the report's os-release)")
    plan.add_argument("--skip", action="append", metavar="IDS",
                      help="leave these control IDs or prefixes out (comma-separated)")
    return plan


def cmd_plan(args) -> int:
    """Write a remediation plan for the failed controls of a report."""
    from hostaudit import fixplan, plan_ansible, plan_sh
    from hostaudit.reports import json_report
    from hostaudit.reports.atomic import write_set

    report = json_report.load(args.report)
    if args.baseline:
        loaded = _load_baseline(args.baseline)
    else:
        loaded = _report_baseline(report, args.report)
    family = fixplan.target_family(report, args.family)
    plan = fixplan.build(report, loaded, family=family, source=os.path.basename(args.report),
                         skip=_split_list(args.skip or []))
    renderer = plan_ansible if args.format == "ansible" else plan_sh
    text = renderer.render(plan, os.path.basename(args.output)) if args.output else renderer.render(plan)
    where = args.output or "standard output"
    if args.output:
        write_set({args.output: text}, mode=0o600)
    else:
        sys.stdout.write(text)
    if plan.failed == 0:
        message = f"no failed controls: wrote an empty plan to {where}"
    elif plan.empty:
        message = f"none of the {plan.failed} failed controls has a mechanical fix: wrote an empty plan to {where}"
    else:
        message = (f"wrote {'an' if args.format == 'ansible' else 'a'} {args.format} plan for "
                   f"{len(plan.controls)} of {plan.failed} failed controls "
                   f"({family}) to {where}; {len(plan.manual)} need a person (listed in it)")
    print(message, file=sys.stderr)
    return ExitCode.OK


def _report_baseline(report: dict, report_path: str):
    """The baseline ``report`` names: the last file the scan read (a site baseline is no
    shipped name), else its shipped name. The report chose it, and its fix steps become
    commands a person runs as root: a file is followed only when it is a .yaml/.yml file
    nobody else could have written, a path given as the name included, and what fails to
    load is not quoted (the file may be any of root's, /etc/shadow for one)."""
    recorded = report.get("baseline")
    if not isinstance(recorded, dict):
        recorded = {}
    listed = recorded.get("files")
    files = [f for f in listed if isinstance(f, str) and os.path.isfile(f)] if isinstance(listed, list) else []
    name = recorded.get("name")
    if not files:
        if not isinstance(name, str) or not name:
            return _load_baseline("gcux-qmail")
        if os.sep not in name and not name.endswith((".yaml", ".yml")):
            return _load_baseline(name)  # a shipped name, or bad input naming the shipped ones
        if not os.path.isfile(name):
            raise InputError(f"the report names baseline file {name}, which does not exist here; "
                             "name the baseline yourself with --baseline", where=report_path)
        files = [name]

    def refused(path: str, why: str) -> InputError:
        return InputError(f"the report names baseline file {path}, {why}; name the baseline "
                          "yourself with --baseline", where=report_path)

    for path in files:
        if not path.endswith((".yaml", ".yml")):
            raise refused(path, "which is not a .yaml or .yml file")
        if reason := _written_by_others(path):
            raise refused(path, f"and {reason}")
    try:
        return _load_baseline(files[-1])
    except InputError:
        raise refused(files[-1], "which does not load as a baseline (hostaudit baseline validate "
                      "FILE says why)") from None


def _lookup_dirs(path: str) -> list[tuple[str, str]]:
    """Each (directory, name) the kernel looks ``path`` up through, following links as it
    does (a link's target is looked up from the directory holding the link), in order.
    OSError when there are more than 40 links (ELOOP) or a component cannot be read."""
    pending = [p for p in os.path.join(os.getcwd(), path).split("/") if p not in ("", ".")]
    current, steps, links = "/", [], 0
    while pending:
        part = pending.pop(0)
        if part == "..":
            current = os.path.dirname(current)  # current holds no link: its parent is real
            continue
        steps.append((current, part))
        following = os.path.join(current, part)
        if os.path.islink(following):
            links += 1
            if links > 40:
                raise OSError(errno.ELOOP, "too many levels of symbolic links", path)
            target = os.readlink(following)
            if target.startswith("/"):
                current = "/"
            pending[:0] = [p for p in target.split("/") if p not in ("", ".")]
            continue
        current = following
    return steps


def _written_by_others(path: str) -> str | None:
    """Why ``path`` may have been written, or swapped, by someone other than root or this user,
    or None: the file itself and every directory on the way to it (links followed as the
    kernel follows them) must be owned by root or this user and not writable by group or
    others. A sticky directory writable by all (/tmp) is on a safe way when root or this
    user owns the entry in it: others may not rename that."""
    trusted = (0, os.geteuid())
    for directory, name in _lookup_dirs(path):
        info = os.stat(directory)
        entry = os.lstat(os.path.join(directory, name))
        if info.st_uid not in trusted:
            return f"{directory} is owned by uid {info.st_uid}"
        if info.st_mode & 0o022 and not (info.st_mode & stat.S_ISVTX and entry.st_uid in trusted):
            return f"{directory} is writable by {'group and others' if info.st_mode & 0o002 else 'its group'}"
    info = os.stat(path)
    if info.st_uid not in trusted:
        return f"{path} is owned by uid {info.st_uid}"
    if info.st_mode & 0o022:
        return f"{path} is writable by {'group and others' if info.st_mode & 0o002 else 'its group'}"
    return None


def _load_baseline(ref: str):
    """Load a baseline checked against this version's checks (see ``baseline.load_checked``)."""
    from hostaudit import baseline as baselines
    from hostaudit.registry import load_all

    load_all()  # the composition root registers every check and probe, once
    return baselines.load_checked(ref)


def _parse_formats(text: str, allowed: tuple[str, ...] = FORMATS) -> list[str]:
    """``json,html`` -> [json, html]; an empty list (``''``, ``,``) is bad input, not a run
    that silently writes nothing."""
    formats = [f.lower() for f in _split_list([text])]
    if not formats:
        raise InputError(f"no format given in {text!r} (choose from {', '.join(allowed)})",
                         where="--format")
    for fmt in formats:
        if fmt not in allowed:
            raise InputError(f"unknown format {fmt!r} (choose from {', '.join(allowed)})", where="--format")
    return formats


def gate_failures(report: dict, fail_under: float | None, fail_on: str | None,
                  new_failed: list[dict] | None = None, reference_name: str = "the reference") -> list[str]:
    """Why the report fails the chosen gate (empty: it passes).

    Gating against a reference report, ``new_failed`` holds the controls that newly failed
    or erred (``hostaudit.gate.new_failures``, narrowed to ``fail_on`` by ``gate.at_least``)
    and they replace the count of every failure."""
    reasons = []
    if fail_under is not None:
        score = report["score"]
        if score is None or score < fail_under:
            reasons.append(f"score {score} is below {fail_under:g}")
    if new_failed is not None:
        from hostaudit.visible import terminal_text

        if new_failed:
            named = [f"{c['id']} ({c['severity']}, {c['before']['status'] if c['before'] else 'not in the reference'}"
                     f" -> {c['after']['status']})" for c in new_failed]
            scope = f" of severity {fail_on} or higher" if fail_on else ""
            reasons.append(terminal_text(
                f"{len(new_failed)} control(s){scope} newly failed or erred since {reference_name}: "
                + _first_ten(named)))
    elif fail_on is not None:
        threshold = SEVERITIES.index(fail_on)
        bad = [
            r["id"]
            for r in report["results"]
            if r["status"] in ("fail", "error") and SEVERITIES.index(r["severity"]) <= threshold
        ]
        if bad:
            reasons.append(f"{len(bad)} control(s) of severity {fail_on} or higher failed or erred: "
                           + _first_ten(bad))
    return reasons


def _first_ten(names: list[str]) -> str:
    """The first ten of ``names``, and how many more (the report lists them all)."""
    return ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")


def _console(args, *, stderr: bool = False):
    from rich.console import Console

    class ReaderConsole(Console):
        """rich ends the process with exit 1 when its reader closes the pipe; here the
        command decides (the gate's verdict stands), so the error goes back up."""

        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError(errno.EPIPE, "stdout closed by its reader")

    return ReaderConsole(stderr=stderr, no_color=getattr(args, "no_color", False) or "NO_COLOR" in os.environ,
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
    if args.prometheus:
        _metrics_file(args.prometheus)
    reference = None
    if args.gate_against:
        from hostaudit.reports import json_report

        # Read before the audit: a missing or broken reference is bad input, found early.
        if not os.path.lexists(args.gate_against):
            # The first run of a pipeline has nothing accepted yet: say how to start.
            raise InputError("no such report file", where=args.gate_against,
                             hint="to adopt the gate, run this scan once without --gate-against and "
                                  f"commit its report.json as {args.gate_against}")
        reference = json_report.load(args.gate_against)
    spec = TargetSpec(root=args.root, image=args.image, address=args.target,
                      network=args.network, udp_ports=args.udp_ports, platform=args.platform)
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
            finished = scan(target, baseline, only=only, skip=skip, audit_plan=audit_plan,
                            on_fact=advance)
            report = finished.report
        if args.debug:
            print_tracebacks(finished.tracebacks)
        if state is not None:
            _record_drift(state, report)
    written = _write_reports(report, formats, output, metrics=args.prometheus)
    new_failed = None
    if reference is not None:
        from hostaudit.gate import at_least, new_failures
        from hostaudit.visible import terminal_text

        new_failed, context = new_failures(reference, report)
        for note in context:
            print(terminal_text(f"note: gate against {args.gate_against}: {note}"), file=sys.stderr)
        if args.fail_on:
            new_failed = at_least(new_failed, args.fail_on)
    reasons = gate_failures(report, args.fail_under, args.fail_on, new_failed, args.gate_against)
    code = ExitCode.GATE_FAILED if reasons else ExitCode.OK
    # The reports are written and the verdict is known: a reader that stops reading early
    # (``| head``) ends the printing, not the run, and changes no exit code.
    shown = False
    try:
        shown = _print_scan(args, report, formats, written, reasons, new_failed)
    except BrokenPipeError:
        if not _reader_left():
            raise
    if not shown:
        for reason in reasons:
            print(f"gate failed: {reason}", file=sys.stderr)
    return code


def print_tracebacks(tracebacks) -> None:
    """--debug: each crashed probe's and check's traceback (the report has one line each).

    A traceback quotes what the code was handling, target text included: it passes the
    redaction reports pass and prints with control characters made visible."""
    from hostaudit.redact import redact_text
    from hostaudit.visible import terminal_text

    for what, text in tracebacks.items():
        lines = redact_text(f"debug: {what} crashed:\n{text.rstrip()}").splitlines()
        print("\n".join(terminal_text(line) for line in lines), file=sys.stderr)


def _gate_verdict(args, reasons: list[str]):
    """The gate line of the terminal summary: which gates were chosen and what they said."""
    from hostaudit.reports.terminal import Gate

    chosen = [f"--fail-on {args.fail_on}"] if args.fail_on else []
    if args.fail_under is not None:
        chosen.append(f"--fail-under {args.fail_under:g}")
    if args.gate_against:
        chosen.append(f"--gate-against {args.gate_against}")
    if reasons:
        return Gate(False, "failed: " + "; ".join(reasons))
    if chosen:
        return Gate(True, f"passed ({', '.join(chosen)})")
    return Gate(None, "none chosen (add --fail-on SEVERITY, --fail-under SCORE or --gate-against REPORT)")


def _print_scan(args, report: dict, formats: list[str], written: list[str], reasons: list[str],
                new_failed: list[dict] | None) -> bool:
    """Print what the run has to say on stdout; True when that included the gate's verdict."""
    if args.quiet_unless_changed and report["drift"]["changed"]:
        from hostaudit.reports import diff_view

        print("\n".join(diff_view.text_lines(_drift_as_diff(report), "report.json, drift.facts")))
    if args.quiet:
        return False
    from hostaudit.reports import terminal

    console = _console(args)
    if "terminal" in formats:
        terminal.render(report, console, gate=_gate_verdict(args, reasons), written=written,
                        verbose=args.verbose)
        shown = True
        if os.environ.get("GITHUB_ACTIONS") == "true":
            from hostaudit.reports import github_annotations

            # Workflow commands: one line each on stdout, where the runner reads them.
            new = None if new_failed is None else {c["id"] for c in new_failed}
            for line in github_annotations.lines(report, new=new):
                print(line)
    else:
        terminal.print_written(console, written)
        shown = False
    sys.stdout.flush()
    return shown


def _reader_left() -> bool:
    """Whether stdout's reader has closed it (``hostaudit scan | head``); if so, stdout now
    points at /dev/null, as the Python documentation advises, so that the interpreter's last
    flush does not fail again. A broken pipe elsewhere (a probe's command) is not this."""
    import select

    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test's StringIO)
        return False
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    if not any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0)):
        return False
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)
    return True


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
            "score": drift["score"], "coverage": drift["coverage"],
            "changed": drift["changed"], "controls": drift["controls"], "facts": drift["facts"]}


def _write_reports(report: dict, formats: list[str], output: str, *, metrics: str | None = None) -> list[str]:
    """Validate the report against its schema and write report.json/report.html (and the
    Prometheus ``metrics`` file) as one set: all replaced, or (full disk, any write error:
    exit 3 naming the file) none. Returns the absolute paths written."""
    from hostaudit.reports import json_report
    from hostaudit.reports.atomic import write_set

    try:
        json_report.validate(report)
    except json_report.ReportInvalid as exc:
        # Our own output drifting from its published schema is a bug, not bad input.
        raise AuditError(f"internal: the report does not match its schema: {exc}") from exc
    rendered: dict[str, str] = {}
    if "json" in formats:
        rendered[os.path.join(output, FILES["json"])] = json_report.render(report)
    if "html" in formats:
        from hostaudit.reports import html

        rendered[os.path.join(output, FILES["html"])] = html.render(report)
    if "junit" in formats:
        from hostaudit.reports import junit

        rendered[os.path.join(output, FILES["junit"])] = junit.render(report)
    if "sarif" in formats:
        from hostaudit.reports import sarif

        rendered[os.path.join(output, FILES["sarif"])] = sarif.render(report)
    if metrics:
        from hostaudit.reports import prometheus

        rendered[os.path.abspath(metrics)] = prometheus.render(report)
    if set(FILES) & set(formats):
        make_directories(output)
    # node_exporter's textfile collector reads the metrics as its own user; they hold
    # scores and counts, no fact of the host.
    write_set(rendered, modes={os.path.abspath(metrics): 0o644} if metrics else None)
    return list(rendered)


def cmd_explain(args) -> int:
    """Explain one control of a baseline."""
    import json

    from hostaudit import baseline as baselines
    from hostaudit import explain

    loaded = _load_baseline(args.baseline)
    try:
        control = loaded.control(args.control_id)
    except KeyError:
        hint = baselines.did_you_mean(args.control_id, loaded.ids)
        if hint is None and not os.path.isfile(args.baseline):  # a shipped name, not a site file
            hint = "a site baseline's own control? name its file with --baseline"
        raise InputError(f"unknown control {args.control_id!r} in baseline {loaded.name}", hint=hint) from None
    data = explain.describe(control)
    print(json.dumps(data, indent=2) if args.json else explain.render_text(data))
    return ExitCode.OK


def cmd_diff(args) -> int:
    """Compare two reports; write diff.json (and diff.html) and print what changed."""
    from hostaudit.compare import compare
    from hostaudit.reports import diff_view, json_report
    from hostaudit.reports.atomic import write_set

    formats = _parse_formats(args.format, ("json", "html", "terminal"))
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
    if rendered:
        make_directories(output)
    write_set(rendered)
    if "terminal" in formats:
        listed_in = "diff.json" if "json" in formats else "diff.json, with --format json"
        print("\n".join(diff_view.text_lines(diff, listed_in)))
    return ExitCode.OK


def _output_directory(path: str, formats: list[str]) -> str:
    """The absolute output directory, checked before any work is done. A missing one is
    made when the reports are written (``make_directories``); here only whether it can be:
    bad input stops the run before the audit and leaves nothing behind."""
    output = os.path.abspath(path)
    if not set(FILES) & set(formats):
        return output  # nothing will be written there
    if not os.path.lexists(output) and output.endswith((".json", ".html", ".xml", ".sarif")):
        # ``-o report.json`` would make a directory of that name with report.json inside.
        parent = os.path.dirname(path) or "."
        raise InputError(f"{path} looks like a file name, but --output is the directory the reports go into",
                         where="--output", hint=f"give the directory: -o {parent}")
    existing = output
    while not os.path.isdir(existing):
        if os.path.lexists(existing):
            raise InputError(f"output path is not a directory: {existing}", where="--output")
        existing = os.path.dirname(existing)
    if not os.access(existing, os.W_OK | os.X_OK):
        if existing == output:
            raise InputError(f"output directory is not writable: {output}", where="--output")
        raise InputError(f"cannot create output directory {output}: {existing} is not writable",
                         where="--output")
    return output


def _metrics_file(path: str) -> None:
    """Check before the audit that ``--prometheus FILE`` can be written: its directory exists
    (node_exporter's textfile directory is never made here) and FILE is not a directory."""
    metrics = os.path.abspath(path)
    directory = os.path.dirname(metrics)
    if os.path.isdir(metrics):
        raise InputError(f"{metrics} is a directory; name the metrics file (e.g. hostaudit.prom)",
                         where="--prometheus")
    if not os.path.isdir(directory):
        raise InputError(f"the directory of {metrics} does not exist", where="--prometheus")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise InputError(f"{directory} is not writable", where="--prometheus")


def make_directories(path: str, mode: int = 0o750) -> None:
    """Create ``path`` and its missing parents, each ``mode`` (less the umask); an existing
    directory, or a link to one, is fine. Reports describe the host's weak points: no world
    access by default."""
    missing = []
    while not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    for directory in reversed(missing):
        try:
            os.mkdir(directory, mode)
        except FileExistsError:
            if not os.path.isdir(directory):
                raise InputError(f"not a directory: {directory}", where="--output") from None
        except OSError as exc:
            raise AuditError(f"cannot create output directory {directory}: {exc.strerror}") from exc


def cmd_controls(args) -> int:
    """List a baseline's controls with severity, modes and references (NIST, CIS)."""
    import json

    baseline = _load_baseline(args.baseline)
    if args.ids:
        # Plain words for scripts and shell completion; a site baseline's ID is still target-
        # independent text, but shown safely all the same.
        from hostaudit.visible import terminal_text

        print("\n".join(terminal_text(c.id) for c in baseline.controls))
        return ExitCode.OK
    rows = [
        {"id": c.id, "severity": c.severity, "modes": list(c.modes) or ["manual"], "title": c.title,
         "references": c.references.to_dict()}
        for c in baseline.controls
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return ExitCode.OK
    from rich.table import Table
    from rich.text import Text

    from hostaudit.visible import terminal_text

    # A site baseline's words are cells of Text, never markup: ``[bold]`` in a title prints.
    table = Table(title=Text(terminal_text(f"{baseline.name}: {len(rows)} controls")), show_lines=False,
                  caption="references: see 'hostaudit explain ID' or --json for all of them and the notes")
    console = _console(args)
    # The ID is what a reader copies into explain, --only and a site baseline: never cut
    # short with an ellipsis; one longer than its column folds onto the next line. Below 100
    # columns the references (in explain and --json anyway) leave the title room to be read.
    references = console.width >= 100
    longest = max((len(row["id"]) for row in rows), default=2)
    table.add_column("id", overflow="fold", width=min(longest, max(24, console.width // 3)))
    table.add_column("severity", no_wrap=True)
    table.add_column("modes", overflow="fold", max_width=10)
    table.add_column("title", min_width=20)
    if references:
        table.add_column("references")
    for row, control in zip(rows, baseline.controls):
        cells = [row["id"], row["severity"], ",".join(row["modes"]), row["title"]]
        if references:
            cells.append(control.references.compact())
        table.add_row(*(Text(terminal_text(cell)) for cell in cells))
    console.print(table)
    return ExitCode.OK


def cmd_baseline_validate(args) -> int:
    """Validate a baseline file: schema, extends chain, control IDs known to this version."""
    if not os.path.isfile(args.file):
        raise InputError(f"no such file: {args.file}")
    baseline = _load_baseline(args.file if os.sep in args.file else os.path.join(".", args.file))
    chain = " <- ".join(baseline.files)
    waivers = ""
    if baseline.waivers:
        import datetime

        today = datetime.datetime.now(datetime.UTC).date()
        expired = sum(w.expired(today) for w in baseline.waivers)
        waivers = f", {len(baseline.waivers)} waiver(s)" + (f", {expired} EXPIRED" if expired else "")
    print(f"ok: {baseline.name}: {len(baseline.controls)} controls{waivers} ({chain})")
    return ExitCode.OK


def cmd_completion(args) -> int:
    """Print the completion script for the chosen shell."""
    from hostaudit.completion import bash_script

    print(bash_script(_parser()), end="")
    return ExitCode.OK


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    commands = {"scan": cmd_scan, "controls": cmd_controls, "diff": cmd_diff, "explain": cmd_explain,
                "completion": cmd_completion, "plan": cmd_plan}
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
            code = int(handler(args))
        sys.stdout.flush()
        return code
    except HostauditError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt as exc:
        signo = exc.signo if isinstance(exc, Interrupted) else signal.SIGINT
        stop_children()  # commands of abandoned probes; Ctrl-C reaches them, SIGTERM does not
        print(f"interrupted by {signal.Signals(signo).name}", file=sys.stderr)
        return 128 + signo
    except Exception as exc:  # the one place internal errors become exit 3
        if isinstance(exc, BrokenPipeError) and _reader_left():
            # The reader went away (``hostaudit controls | head``): it got what it read.
            return int(ExitCode.OK)
        if getattr(args, "debug", False):
            raise
        from hostaudit.visible import terminal_text

        print(f"error: internal error: {type(exc).__name__}: {terminal_text(str(exc))} (rerun with --debug)",
              file=sys.stderr)
        return int(ExitCode.AUDIT_FAILED)
