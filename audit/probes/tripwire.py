"""Tripwire's install and initialisation, from file presence only (keys are never opened)."""

from __future__ import annotations

from hostaudit.host import Host
from hostaudit.registry import probe

BINARIES = ("/usr/sbin/tripwire", "/usr/local/sbin/tripwire")
CONFIG_DIR = "/etc/tripwire"
SIGNED_FILES = ("tw.cfg", "tw.pol", "site.key")
PLAINTEXT_FILES = ("twpol.txt", "twcfg.txt")
DATABASE_GLOB = "/var/lib/tripwire/*.twd"


@probe("tripwire", needs=["packages"])
def tripwire(host: Host, facts) -> dict:
    """``{"binaries": [path...], "binaries_looked", "package": {"version", "source", "line"} | None,
    "package_error", "signed": {name: bool}, "local_keys": [path...], "databases": [path...],
    "plaintext": [path...]}`` (paths under /etc/tripwire and /var/lib/tripwire)."""
    package_error = facts.error_of("packages")
    package = None if package_error else facts["packages"]["installed"].get("tripwire")
    return {
        "binaries": [p for p in BINARIES if host.is_file(p)],
        "binaries_looked": list(BINARIES),
        "package": package,
        "package_error": package_error,
        "signed": {name: host.is_file(f"{CONFIG_DIR}/{name}") for name in SIGNED_FILES},
        "local_keys": host.glob(f"{CONFIG_DIR}/*-local.key"),
        "databases": host.glob(DATABASE_GLOB),
        "plaintext": [f"{CONFIG_DIR}/{n}" for n in PLAINTEXT_FILES if host.exists(f"{CONFIG_DIR}/{n}")],
    }
