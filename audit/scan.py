"""One audit as a library call: the single path the CLI, drift runs and fleets share.

    spec = TargetSpec(image="mail.tar.xz")
    with open_target(spec) as target:
        run = scan(target, baseline, only=["sysctl."])
    run.report   # the report model every renderer reads (reports/report.schema.json)

``open_target`` turns what the user asked for into a Host (unpacking an image safely and
removing it afterwards); ``scan`` plans the audit once, then ``collect`` gathers the facts the
selected checks need into a redacted bundle (what ``hostaudit collect`` writes) and
``evaluate`` judges the bundle, scores it and builds the report (what ``hostaudit evaluate``
does centrally, with no access to the host).
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import pwd
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from hostaudit.baseline import Baseline, Control, select
from hostaudit.errors import InputError
from hostaudit.host import Host, ImageHost, LiveHost, NetHost
from hostaudit.model import ControlResult
from hostaudit.redact import redact
from hostaudit.registry import load_all
from hostaudit.runner import AuditPlan, evaluate_plan, plan_audit

# The loopback a live audit with --network sweeps: this host's own, never another address.
_OWN_LOOPBACK = "127.0.0.1"
_HOST_NAME = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*"
)


@dataclass(frozen=True)
class TargetSpec:
    """What to audit: this host (default), an image root directory, an image tarball, or one
    network address. ``network`` adds sweeps of this host's loopback to a live audit."""

    root: str | None = None
    image: str | None = None
    address: str | None = None
    network: bool = False
    udp_ports: str = "all"
    platform: str | None = None

    def validated(self) -> TargetSpec:
        """This spec with its address and UDP port list checked; raises InputError."""
        if sum(x is not None for x in (self.root, self.image, self.address)) > 1:
            raise InputError("choose one target: --root, --image or --target")
        if (self.network or self.address) and (self.root or self.image):
            raise InputError("--network looks at a running host: it does not combine with --root or --image")
        if self.platform is not None and self.image is None:
            raise InputError("--platform chooses an image in an --image archive", where="--platform")
        if self.platform is not None and not re.fullmatch(r"[a-z0-9_]+/[a-z0-9_]+(/[a-z0-9_]+)?", self.platform):
            raise InputError(f"{self.platform!r} is not OS/ARCH[/VARIANT] like linux/amd64", where="--platform")
        if self.root is not None and not os.path.isdir(self.root):
            raise InputError(f"root directory does not exist: {self.root}", where="--root")
        address = parse_address(self.address) if self.address is not None else None
        return TargetSpec(self.root, self.image, address, self.network, parse_udp_ports(self.udp_ports),
                          self.platform)


@dataclass(frozen=True)
class Target:
    """An opened target: the Host to read it through and what the report says about it."""

    host: Host
    description: dict


@dataclass(frozen=True)
class ScanResult:
    """A finished audit: the report model and the typed results it was built from."""

    report: dict
    results: tuple[ControlResult, ...]
    # What crashed, by "probe NAME" / "check of ID", with its traceback (shown by --debug)
    tracebacks: Mapping[str, str] = field(default_factory=dict)


def parse_address(text: str) -> str:
    """One host to sweep: an IP address or a host name, never a range or a list."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if _HOST_NAME.fullmatch(text):
        return text
    raise InputError(f"{text!r} is not one IP address or host name (ranges and lists are not swept)",
                     where="--target")


def parse_udp_ports(text: str) -> str:
    """``all``, ``top:N`` or a comma list of ports and ranges (1-65535); raises InputError."""
    if text == "all" or re.fullmatch(r"top:[1-9][0-9]{0,4}", text):
        return text
    if re.fullmatch(r"\d{1,5}(-\d{1,5})?(,\d{1,5}(-\d{1,5})?)*", text) and all(
        0 < int(p) < 65536 for p in re.split(r"[,-]", text)
    ):
        return text
    raise InputError(f"{text!r} is not 'all', 'top:N' or a port list like 53,161,1000-2000",
                     where="--udp-ports")


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


@contextlib.contextmanager
def open_target(spec: TargetSpec, *, invocation: Sequence[str] | None = None) -> Iterator[Target]:
    """Open the target ``spec`` names; an unpacked image is removed when the block ends.

    ``invocation`` (the command line, e.g. ``sys.argv``) goes into the report with secrets
    redacted, beside the user who ran the audit."""
    spec = spec.validated()
    run_by = {"user": _user_name(os.geteuid())}
    if invocation is not None:
        run_by["invocation"] = redact(list(invocation))
    sweep_options = {"udp_ports": spec.udp_ports}
    if spec.address is not None:
        host: Host = NetHost(spec.address, sweep_options=sweep_options)
        yield _described(host, **run_by)
    elif spec.image is not None and _is_disk_image(spec.image):
        from hostaudit.disk_image import attached_disk

        with attached_disk(spec.image) as (root, disk):
            # The image's own filesystems, mounted read-only: no index, the disk is the truth,
            # and it carries what a root directory does (inode flags, quota files, fstab).
            host = ImageHost(root)
            host.format_name = "a disk image"
            yield _described(host, image=os.path.abspath(spec.image), disk=disk,
                             **run_by)
    elif spec.image is not None:
        from hostaudit.image import open_image

        with open_image(spec.image, platform=spec.platform) as (host, image):
            # The image is read from its index; only files probes read were written out.
            yield _described(host, image=os.path.abspath(spec.image),
                             image_format=image,
                             **run_by)
    elif spec.root is not None:
        # Not unpacked by us, so no index: the tree's own modes and owners on disk are the truth.
        yield _described(ImageHost(spec.root), **run_by)
    else:
        host = LiveHost(network_target=_OWN_LOOPBACK if spec.network else None,
                        sweep_options=sweep_options)
        yield _described(host, euid=os.geteuid(), **run_by)


def _is_disk_image(path: str) -> bool:
    from hostaudit.disk_image import is_disk_image

    return is_disk_image(path) is not None


def _described(host: Host, **extra) -> Target:
    description = {**host.describe(), **extra, "modes": sorted(host.modes)}
    return Target(host, description)


def select_controls(baseline: Baseline, mode: str, only: Sequence[str] = (),
                    skip: Sequence[str] = ()) -> list[Control]:
    """The controls to audit in a target of ``mode``: the baseline's, narrowed by
    ``only``/``skip`` (IDs or prefixes).

    From the wire alone only net-mode controls can be decided, so a network target selects
    just those rather than padding the report with not_applicable rows.
    """
    controls = select(baseline, list(only), list(skip))
    if not controls:
        raise InputError("--only/--skip leave no control to audit")
    if mode == "net":
        controls = [c for c in controls if "net" in c.modes]
        if not controls:
            raise InputError("no selected control can be checked over the network")
    return controls


def plan(baseline: Baseline, target: Target, only: Sequence[str] = (),
         skip: Sequence[str] = ()) -> AuditPlan:
    """The audit of ``target`` that ``scan`` would run: selected controls and facts needed."""
    load_all()  # the composition root registers every check and probe, once
    return plan_audit(select_controls(baseline, target.description["mode"], only, skip), target.host.modes,
                      baseline.waivers)


def scan(target: Target, baseline: Baseline, *, only: Sequence[str] = (), skip: Sequence[str] = (),
         audit_plan: AuditPlan | None = None,
         on_fact: Callable[[str], None] | None = None,
         today: datetime.date | None = None) -> ScanResult:
    """Audit ``target`` against ``baseline`` and build the report: ``collect`` then ``evaluate``.

    ``audit_plan`` (from ``plan``) lets a caller size a progress bar without planning twice;
    ``on_fact`` is called as each fact is collected; ``today`` (default: the UTC date) is
    the day the baseline's waivers are judged on.
    """
    audit_plan = audit_plan or plan(baseline, target, only, skip)
    crashed: dict[str, str] = {}
    bundle = collect(target, baseline, only=only, skip=skip, audit_plan=audit_plan, on_fact=on_fact,
                     on_crash=crashed.__setitem__)
    finished = evaluate(bundle, baseline, only=only, skip=skip, today=today)
    return replace(finished, tracebacks={**crashed, **finished.tracebacks})


def collect(target: Target, baseline: Baseline, *, only: Sequence[str] = (), skip: Sequence[str] = (),
            audit_plan: AuditPlan | None = None,
            on_fact: Callable[[str], None] | None = None,
            on_crash: Callable[[str, str], None] | None = None) -> dict:
    """The fact bundle of ``target``: exactly the facts ``baseline``'s selected checks need,
    redacted, with the target's description (``hostaudit.bundle``).

    ``on_crash(what, traceback)`` is called for each probe that crashed (``what`` is
    ``"probe NAME"``): the bundle carries only the one-line reason, --debug the rest."""
    from hostaudit.bundle import collect_bundle

    audit_plan = audit_plan or plan(baseline, target, only, skip)
    return collect_bundle(target, audit_plan, baseline=baseline,
                          selection={"only": list(only), "skip": list(skip)}, on_fact=on_fact,
                          on_crash=on_crash)


def evaluate(bundle: dict, baseline: Baseline, *, only: Sequence[str] | None = None,
             skip: Sequence[str] | None = None, today: datetime.date | None = None) -> ScanResult:
    """Judge a fact bundle against ``baseline`` and build the report, with no access to the
    host. A fact the bundle lacks makes the checks needing it ``error`` naming the fact.

    ``only``/``skip`` default to the selection the bundle was collected for; ``today``
    (default: the UTC date) is the day the baseline's waivers are judged on."""
    from hostaudit.bundle import facts_of
    from hostaudit.reports.model import build_report

    if only is None and skip is None:
        only, skip = bundle["selection"]["only"], bundle["selection"]["skip"]
    only, skip = list(only or ()), list(skip or ())

    load_all()  # the composition root registers every check and probe, once
    audit_plan = plan_audit(select_controls(baseline, bundle["target"]["mode"], only, skip),
                            frozenset(bundle["modes"]), baseline.waivers)
    audit = evaluate_plan(audit_plan, facts_of(bundle), timing=bundle["timing"], today=today)
    description = {**bundle["target"], "collector": bundle["collector"]}
    # Which sweeps were made, so a reader knows what "no open port" covered.
    description["sweeps"] = [
        {"fact": name, "command": fact["command"], "covered": fact["covered"],
         "duration_s": fact["duration_s"]}
        for name, fact in audit["facts"].items()
        if name.startswith("nmap_") and "command" in fact
    ]
    report = build_report(audit=audit, baseline=baseline, target=description,
                          selection={"only": list(only), "skip": list(skip)})
    return ScanResult(report=report, results=tuple(audit["results"]),
                      tracebacks=audit.get("tracebacks", {}))
