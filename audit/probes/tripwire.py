"""Tripwire's install and initialisation, from file presence only (keys are never opened)."""

from __future__ import annotations

import dataclasses
import os
import posixpath
import tempfile
from typing import Any

from hostaudit.errors import ProbeError
from hostaudit.host import Host, LiveHost
from hostaudit.parsers.twpol import PolicyError, parse_policy
from hostaudit.probes.packages import DPKG_STATUS, RPM_BDB, RPM_SQLITE
from hostaudit.registry import probe

BINARIES = ("/usr/sbin/tripwire", "/usr/local/sbin/tripwire")
CONFIG_DIR = "/etc/tripwire"
SIGNED_FILES = ("tw.cfg", "tw.pol", "site.key")
PLAINTEXT_FILES = ("twpol.txt", "twcfg.txt")
DATABASE_GLOB = "/var/lib/tripwire/*.twd"


@probe("tripwire", needs=["packages"])
def tripwire(host: Host, facts) -> dict:
    """Tripwire's programs, package, signed configuration and policy, keys, databases and
    leftover plain-text files (under /etc/tripwire and /var/lib/tripwire).

    ``{"binaries": [path...], "binaries_looked", "package": {"version", "source", "line"} | None,
    "package_error", "package_unknown": bool (a database is there but unreadable),
    "signed": {name: bool}, "local_keys": [path...], "databases": [path...], "plaintext": [path...]}``
    (paths under /etc/tripwire and /var/lib/tripwire)."""
    package_error = facts.error_of("packages")
    package = None if package_error else facts["packages"]["installed"].get("tripwire")
    return {
        "binaries": [p for p in BINARIES if host.is_file(p)],
        "binaries_looked": list(BINARIES),
        "package": package,
        "package_error": package_error,
        "package_unknown": _package_unknown(host, package_error),
        "signed": {name: host.is_file(f"{CONFIG_DIR}/{name}") for name in SIGNED_FILES},
        "local_keys": host.glob(f"{CONFIG_DIR}/*-local.key"),
        "databases": host.glob(DATABASE_GLOB),
        "plaintext": [f"{CONFIG_DIR}/{n}" for n in PLAINTEXT_FILES if host.exists(f"{CONFIG_DIR}/{n}")],
    }


POLICY_FILE = f"{CONFIG_DIR}/tw.pol"
CONFIG_FILE = f"{CONFIG_DIR}/tw.cfg"
SITE_KEY = f"{CONFIG_DIR}/site.key"
PLAINTEXT_POLICY = f"{CONFIG_DIR}/twpol.txt"
PRINT_TIMEOUT = 30.0
_POLICY_LIMIT = 4 * 1024 * 1024


def _target_hostname(host: Host) -> str | None:
    """The name tripwire on the target would see (its @@ifhost and $(HOSTNAME))."""
    if host.mode == "live":
        return host.describe().get("hostname")
    try:
        name = host.read_text("/etc/hostname", limit=256).strip().splitlines()
    except OSError:
        return None
    return name[0].strip() if name and name[0].strip() else None


def _print_polfile(host: Host) -> tuple[str, str]:
    """(command, policy text) from the auditor's own ``twadmin --print-polfile``.

    Live, twadmin reads the host's own config, policy and site key. In an image, the
    image's files are named explicitly, so the auditor's twadmin reads them as data and
    nothing from the image runs. Raises ProbeError with twadmin's own words.
    """
    if host.mode == "live":
        argv = ["twadmin", "--print-polfile"]
        shown = argv
        done = host.run(argv, timeout=PRINT_TIMEOUT)
    else:
        for path in (CONFIG_FILE, POLICY_FILE):
            if not host.is_file(path):
                raise ProbeError(f"{path} is not a regular file in the image; twadmin needs it to print the policy")
            if host.stat(path).st_size > _POLICY_LIMIT:
                raise ProbeError(f"{path} is larger than {_POLICY_LIMIT} bytes; not read")
        # A device or FIFO in place of the key would hold twadmin until its timeout.
        if host.exists(SITE_KEY) and not host.is_file(SITE_KEY):
            raise ProbeError(f"{SITE_KEY} is not a regular file in the image")
        shown = ["twadmin", "--print-polfile", "-c", CONFIG_FILE, "-p", POLICY_FILE, "-S", SITE_KEY]
        # twadmin reads private copies, made the way every target file is read: the audited
        # tree keeps its access times, and a file swapped after the checks above (a FIFO, a
        # link out of the root) is never what twadmin opens.
        with tempfile.TemporaryDirectory(prefix="hostaudit-tw-") as private:
            copies = {}
            for path in (CONFIG_FILE, POLICY_FILE, SITE_KEY):
                copies[path] = os.path.join(private, posixpath.basename(path))
                if path == SITE_KEY and not host.exists(SITE_KEY):
                    continue  # named anyway: the auditor's own key must never stand in
                with open(copies[path], "wb") as out:
                    host.copy_file(path, out, limit=_POLICY_LIMIT)
            argv = ["twadmin", "--print-polfile", "-c", copies[CONFIG_FILE], "-p", copies[POLICY_FILE],
                    "-S", copies[SITE_KEY]]
            # The auditor's binary, run on the vantage point like nmap: never the image's.
            done = LiveHost.run(host, argv, timeout=PRINT_TIMEOUT)  # type: ignore[arg-type]
        # twadmin names the files it read: name them as the image does.
        stderr = done.stderr
        for path, copy in copies.items():
            stderr = stderr.replace(copy, path)
        done = dataclasses.replace(done, argv=tuple(shown), stderr=stderr)
    command = " ".join(shown)
    if done.returncode != 0:
        errors = [ln.strip("# ").strip() for ln in done.stderr.splitlines() if ln.startswith("### Error")]
        reason = "; ".join(errors) or (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise ProbeError(f"{command} failed: {reason}")
    return command, done.stdout


def _package_unknown(host: Host, package_error: str | None) -> bool:
    """Whether a package database is there but could not be read, so a tripwire package may
    be installed unseen (an image with no database at all has no package to miss)."""
    if not package_error:
        return False
    try:
        return any(host.exists(path) for path in (DPKG_STATUS, *RPM_SQLITE, *RPM_BDB))
    except OSError:
        return True


@probe("tripwire_policy", needs=["tripwire"])
def tripwire_policy(host: Host, facts) -> dict:
    """The rules of tripwire's policy, from the compiled tw.pol when there is one, else from
    the plain-text twpol.txt it would be compiled from.

    ``{"installed": bool | None, "installed_error": reason | None, "source": command or path | None,
    "compiled": bool, "hostname", "rules": [see parse_policy] | None, "error": reason | None,
    "plaintext_present": bool}``. ``installed`` is None when no binary is there and the package
    database could not be read: then a policy found is still judged. A policy that cannot be
    printed or parsed is an ``error`` (never an empty policy).
    """
    tw = facts["tripwire"]
    installed = bool(tw["binaries"] or tw["package"]) or (None if tw["package_unknown"] else False)
    result: dict[str, Any] = {
              "installed": installed, "installed_error": None if installed is not None else tw["package_error"],
              "source": None, "compiled": False, "hostname": None, "rules": None, "error": None,
              "plaintext_present": host.exists(PLAINTEXT_POLICY)}
    if installed is False:
        return result
    result["hostname"] = hostname = _target_hostname(host)
    try:
        if host.exists(POLICY_FILE):
            result["compiled"] = True
            result["source"], text = _print_polfile(host)
        elif result["plaintext_present"]:
            result["source"] = PLAINTEXT_POLICY
            if not host.is_file(PLAINTEXT_POLICY):
                raise ProbeError(f"{PLAINTEXT_POLICY} is not a regular file")
            if host.stat(PLAINTEXT_POLICY).st_size > _POLICY_LIMIT:
                raise ProbeError(f"{PLAINTEXT_POLICY} is larger than {_POLICY_LIMIT} bytes; not read")
            text = host.read_text(PLAINTEXT_POLICY, limit=_POLICY_LIMIT)
        else:
            return result
        result["rules"] = parse_policy(text, hostname=hostname)
    except (ProbeError, PolicyError) as exc:
        result["error"] = str(exc)
    except OSError as exc:
        result["error"] = f"cannot read {exc.filename or 'the policy'}: {exc.strerror or exc}"
    return result
