"""Round trip of remediation plans: the shell plan for a stock Debian 12 tree, applied to a copy
of it in a chroot, makes every control it fixes pass and no other control worse, and a second
run finds nothing to change.

The tree is ``debootstrap --variant=minbase bookworm`` (cached under /var/tmp, shared with
bench/audit_bench.py); each copy is an overlayfs mount, so the stock tree is never written. The
plan runs only inside the copy (``chroot``), with a policy-rc.d that stops package scripts from
starting daemons. Package installs fetch from Debian's mirror into a .deb cache kept between
runs (marked slow); the offline test leaves the package fixes out.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from hostaudit.baseline import load_checked
from hostaudit.fixplan import build

pytestmark = pytest.mark.root

MINBASE = "/var/tmp/hostaudit-bench/bookworm-minbase"  # the same cache as bench/audit_bench.py
MIRROR = "http://deb.debian.org/debian"
APT_CACHE = Path("/var/tmp/hostaudit-plan/apt")
HOSTAUDIT = str(Path(sys.executable).parent / "hostaudit")

# Statuses from best to worst: a control "got worse" when it moved right.
RANK = {"pass": 0, "not_applicable": 0, "manual": 0, "waived": 0, "error": 1, "fail": 2}
FIXED = {"pass", "not_applicable"}
# Fixed controls a minbase tree cannot show passing, and why.
NOT_PASSING_ON_MINBASE = {
    "maint.auto-patches": "minbase has no init, so whether cron runs the job cannot be told (error)",
    "maint.disk-monitor": "minbase has no init, so whether cron runs the job cannot be told (error)",
    "integrity.tripwire-scheduled": "partial fix: the schedule needs tripwire installed and initialised by a person",
}


def _stock_tree() -> str:
    if os.geteuid() != 0:
        pytest.skip("needs root (chroot, overlayfs)")
    if os.path.isfile(os.path.join(MINBASE, "etc/debian_version")):
        return MINBASE
    if not shutil.which("debootstrap"):
        pytest.skip("debootstrap not installed: cannot build the stock Debian 12 tree")
    try:
        subprocess.run(["debootstrap", "--variant=minbase", "bookworm", MINBASE, MIRROR],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=1800, check=True)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(MINBASE, ignore_errors=True)
        pytest.skip(f"debootstrap could not fetch Debian 12 from {MIRROR}: {exc}")
    return MINBASE


@pytest.fixture(scope="module")
def stock(tmp_path_factory):
    """The stock tree and its report (one scan per module)."""
    tree = _stock_tree()
    out = tmp_path_factory.mktemp("stock")
    scan(tree, out)
    return tree, out / "report.json"


def scan(root, out) -> dict:
    subprocess.run([HOSTAUDIT, "scan", "--root", str(root), "-o", str(out), "--format", "json"],
                   capture_output=True, timeout=120)  # exit 1: the gate failed, as expected
    return {r["id"]: r for r in json.loads((Path(out) / "report.json").read_text())["results"]}


def _run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60, **kw)


class Copy(type(Path())):  # type: ignore[misc]  # PosixPath: Path itself cannot be subclassed before 3.12
    """The root of a copy; ``release_cache()`` unmounts the apt cache (before a scan: another
    filesystem inside the root would leave the file walk incomplete)."""

    cache_mounts: list

    def bind_cache(self) -> None:
        """The copy's .deb archive and package lists become directories kept under /var/tmp."""
        for inside in ("var/cache/apt/archives", "var/lib/apt/lists"):
            kept = APT_CACHE / inside.replace("/", "_")
            if not kept.is_dir():
                shutil.copytree(self / inside, kept, symlinks=True)
            _run(["mount", "--bind", str(kept), str(self / inside)])
            self.cache_mounts.append(self / inside)

    def release_cache(self) -> None:
        while self.cache_mounts:
            subprocess.run(["umount", str(self.cache_mounts.pop())], capture_output=True, timeout=60)


@contextmanager
def overlay_copy(tree: str, *, apt_cache: bool = False, keep: Path | None = None):
    """A writable copy of ``tree`` (overlayfs over it); removed on exit, also on failure.

    ``tree`` may be an overlayfs lowerdir list ("changes:base"). With ``apt_cache`` the copy's
    .deb archive and package lists are a directory kept under /var/tmp, so packages are fetched
    from the mirror once, not on every run. With ``keep`` the copy's changes are moved there
    (to be a lower layer of later copies) instead of removed."""
    work = Path(tempfile.mkdtemp(prefix="hostaudit-plan.", dir="/var/tmp"))
    root, mounts = Copy(work / "root"), []
    root.cache_mounts = []
    for d in ("upper", "work", "root"):
        (work / d).mkdir()
    try:
        _run(["mount", "-t", "overlay", "overlay", "-o",
              f"lowerdir={tree},upperdir={work / 'upper'},workdir={work / 'work'}", str(root)])
        mounts.append(root)
        if apt_cache:
            root.bind_cache()
        yield root
    finally:
        root.release_cache()
        for mount in reversed(mounts):
            subprocess.run(["umount", str(mount)], capture_output=True, timeout=60)
        # chattr +i files in the copy would stop rmtree
        subprocess.run(["chattr", "-R", "-f", "-i", str(work / "upper")], capture_output=True, timeout=60)
        if keep is not None and not os.path.ismount(root):
            (work / "upper").rename(keep)
        shutil.rmtree(work, ignore_errors=True)


def write_plan(report: Path, root: Path, *extra: str) -> str:
    _run([HOSTAUDIT, "plan", str(report), "-o", str(root / "plan.sh"), *extra])
    return (root / "plan.sh").read_text()


def apply(root: Path, *, dry_run: bool = False, timeout: int = 600, script: str = "/plan.sh") -> str:
    """Run ``script`` inside ``root`` with chroot; package scripts may not start daemons."""
    policy = root / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    try:
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DRY_RUN": "1" if dry_run else "0", "LC_ALL": "C"}
        run = subprocess.run(["chroot", str(root), "/bin/sh", script], capture_output=True, text=True,
                             env=env, timeout=timeout)
    finally:
        policy.unlink()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run.stdout


def mirror_unreachable(exc: AssertionError) -> bool:
    return any(s in str(exc) for s in ("Temporary failure resolving", "Could not resolve", "Unable to connect"))


def package_controls(report: Path) -> list[str]:
    """Failed controls whose Debian fix installs a package (needs the mirror)."""
    baseline = load_checked("gcux-qmail")
    failed = [r["id"] for r in json.loads(report.read_text())["results"] if r["status"] == "fail"]
    return [c for c in failed if baseline.control(c).fix and baseline.control(c).fix.needs_packages("debian")]


def planned_controls(report: Path, skip=()) -> tuple[str, ...]:
    data = json.loads(report.read_text())
    return build(data, load_checked("gcux-qmail"), family="debian", source="", skip=list(skip)).controls


def worse(before: dict, after: dict) -> list[str]:
    return [f"{cid}: {before[cid]['status']} -> {after[cid]['status']} ({after[cid].get('message')})"
            for cid in before if RANK[after[cid]["status"]] > RANK[before[cid]["status"]]]


@pytest.fixture(scope="module")
def offline_applied(stock, tmp_path_factory):
    """A copy of the stock tree with the plan minus package installs applied once."""
    tree, report = stock
    skip = package_controls(report)
    with overlay_copy(tree) as root:
        write_plan(report, root, "--skip", ",".join(skip))
        first = apply(root)
        out = tmp_path_factory.mktemp("offline")
        yield {"root": root, "first": first, "after": scan(root, out), "before": scan(tree, out / "stock"),
               "controls": planned_controls(report, skip)}


def test_offline_plan_makes_every_control_it_fixes_pass(offline_applied):
    after, controls = offline_applied["after"], offline_applied["controls"]
    assert len(controls) >= 20
    still = {c: after[c]["status"] + ": " + after[c]["message"] for c in controls if after[c]["status"] not in FIXED}
    assert still == {}


def test_offline_plan_makes_no_control_worse(offline_applied):
    assert worse(offline_applied["before"], offline_applied["after"]) == []


def test_offline_plan_applied_twice_changes_nothing(offline_applied):
    assert "change(s) made" in offline_applied["first"]
    again = apply(offline_applied["root"], dry_run=True)
    assert again.strip().splitlines()[-1] == "hostaudit plan: 0 change(s) would be made", again


def test_dry_run_prints_the_changes_and_changes_nothing(stock):
    tree, report = stock
    with overlay_copy(tree) as root:
        write_plan(report, root, "--skip", ",".join(package_controls(report)))
        out = apply(root, dry_run=True)
        upper = root.parent / "upper"
        written = sorted(str(p.relative_to(upper)) for p in upper.rglob("*") if not p.is_dir())
    assert "would change [auth.su-wheel]: /etc/pam.d/su: auth       required   pam_wheel.so use_uid group=wheel" in out
    assert written == ["plan.sh"]


@pytest.mark.slow
def test_full_plan_with_packages_round_trip(stock, tmp_path):
    """Every fix, packages included (from Debian's mirror, cached in /var/tmp between runs)."""
    tree, report = stock
    with overlay_copy(tree, apt_cache=True) as root:
        write_plan(report, root)
        started = time.monotonic()
        try:
            apply(root, timeout=900)
        except AssertionError as exc:
            if mirror_unreachable(exc):
                pytest.skip(f"Debian's mirror is unreachable: {exc}")
            raise
        root.release_cache()
        after = scan(root, tmp_path)
        elapsed = time.monotonic() - started
        again = apply(root, dry_run=True)
    before = scan(tree, tmp_path / "stock")
    print(f"full shell plan applied and re-audited in {elapsed:.1f} s")
    controls = planned_controls(report)
    still = {c: after[c]["status"] + ": " + after[c]["message"] for c in controls
             if after[c]["status"] not in FIXED and c not in NOT_PASSING_ON_MINBASE}
    assert still == {}
    assert worse(before, after) == []
    assert again.strip().splitlines()[-1] == "hostaudit plan: 0 change(s) would be made", again


@pytest.fixture(scope="module")
def systemd_tree(stock, tmp_path_factory):
    """The stock tree with systemd as init (as a Debian 12 VM has) and ansible-core to run
    the playbook with a local connection inside the chroot: an overlayfs lowerdir list."""
    tree, _ = stock
    layer = Path(tempfile.mkdtemp(prefix="hostaudit-plan-layer.", dir="/var/tmp"))
    changes = layer / "changes"
    try:
        with overlay_copy(tree, apt_cache=True, keep=changes) as root:
            (root / "seed.sh").write_text(
                "set -eu\napt-get -q update\nDEBIAN_FRONTEND=noninteractive apt-get -q -y "
                "--no-install-recommends install systemd-sysv ansible-core python3-apt\n")
            try:
                apply(root, timeout=900, script="/seed.sh")
            except AssertionError as exc:
                if mirror_unreachable(exc):
                    pytest.skip(f"Debian's mirror is unreachable: {exc}")
                raise
            (root / "seed.sh").unlink()
        yield f"{changes}:{tree}"
    finally:
        shutil.rmtree(layer, ignore_errors=True)


@pytest.mark.slow
def test_full_plan_on_a_systemd_host_round_trip(systemd_tree, tmp_path):
    """With systemd as init the cron jobs are seen to run and Ctrl-Alt-Del is judged, so
    those fixes are proven too."""
    with overlay_copy(systemd_tree) as root:
        before = scan(root, tmp_path / "before")
        assert before["os.ctrl-alt-del"]["status"] == "fail"
        report = tmp_path / "before" / "report.json"
        write_plan(report, root)
        root.bind_cache()
        apply(root, timeout=900)
        again = apply(root, dry_run=True)
        root.release_cache()
        after = scan(root, tmp_path / "after")
    controls = planned_controls(report)
    assert {"os.ctrl-alt-del", "maint.auto-patches", "maint.disk-monitor"} <= set(controls)
    still = {c: after[c]["status"] + ": " + after[c]["message"] for c in controls
             if after[c]["status"] not in FIXED and c != "integrity.tripwire-scheduled"}
    assert still == {}
    assert worse(before, after) == []
    assert again.strip().splitlines()[-1] == "hostaudit plan: 0 change(s) would be made", again


def ansible_playbook(root: Path, playbook: str) -> str:
    """ansible-playbook with a local connection, run inside ``root`` (chroot): the tasks
    change the copy and nothing else. ``community.general.chroot`` would need a collection
    that ansible-core lacks; the copy's own ansible-core (Debian's) needs nothing more."""
    policy = root / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    try:
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8", "HOME": "/root",
               "ANSIBLE_NOCOLOR": "1"}
        run = subprocess.run(["chroot", str(root), "ansible-playbook", "-c", "local", "-i", "localhost,", playbook],
                             capture_output=True, text=True, env=env, timeout=900)
    finally:
        policy.unlink()
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    return run.stdout


def recap(output: str) -> dict:
    line = next(x for x in output.splitlines() if x.startswith("localhost") and "changed=" in x)
    return {k: int(v) for k, v in (pair.split("=") for pair in line.split(":", 1)[1].split())}


@pytest.mark.slow
def test_ansible_plan_round_trip_and_second_run_changes_nothing(systemd_tree, tmp_path):
    with overlay_copy(systemd_tree) as root:
        before = scan(root, tmp_path / "before")
        report = tmp_path / "before" / "report.json"
        _run([HOSTAUDIT, "plan", str(report), "--format", "ansible", "-o", str(root / "plan.yml")])
        root.bind_cache()
        first = recap(ansible_playbook(root, "/plan.yml"))
        second = recap(ansible_playbook(root, "/plan.yml"))
        root.release_cache()
        after = scan(root, tmp_path / "after")
    assert first["changed"] > 20 and first["failed"] == 0
    assert second["changed"] == 0
    controls = planned_controls(report)
    still = {c: after[c]["status"] + ": " + after[c]["message"] for c in controls
             if after[c]["status"] not in FIXED and c != "integrity.tripwire-scheduled"}
    assert still == {}
    assert worse(before, after) == []


def test_shadow_fix_moves_a_hash_out_of_passwd_and_closes_shadow(stock, tmp_path):
    tree, _ = stock
    with overlay_copy(tree) as root:
        passwd = root / "etc/passwd"
        passwd.write_text(passwd.read_text().replace("nobody:x:", "nobody:$6$salt$notarealhash:", 1))
        (root / "etc/shadow").chmod(0o644)
        before = scan(root, tmp_path / "before")
        assert before["auth.shadow"]["status"] == "fail"
        report = tmp_path / "before" / "report.json"
        write_plan(report, root, "--skip", ",".join(["files.immutable.", *package_controls(report)]))
        apply(root)
        again = apply(root, dry_run=True)
        after = scan(root, tmp_path / "after")
        assert "notarealhash" not in passwd.read_text()
    assert after["auth.shadow"]["status"] == "pass", after["auth.shadow"]["message"]
    assert worse(before, after) == []
    assert again.strip().splitlines()[-1] == "hostaudit plan: 0 change(s) would be made", again
