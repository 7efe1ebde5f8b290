"""sshd: its configuration (with Include files), its version and its privilege-separation dir."""

from __future__ import annotations

import posixpath

from hostaudit.errors import ProbeError
from hostaudit.host import Host
from hostaudit.parsers.openssh_version import version_in_binary
from hostaudit.parsers.sshd_config import effective_settings, parse_sshd_config
from hostaudit.parsers.systemd_unit import list_setting
from hostaudit.probes.services import find_unit, read_unit
from hostaudit.registry import probe

# Debian/RHEL keep the config in /etc/ssh; the 2002 source build in /usr/local/etc.
MAIN_CONFIGS = ("/etc/ssh/sshd_config", "/usr/local/etc/sshd_config")
BINARIES = ("/usr/sbin/sshd", "/usr/local/sbin/sshd")
PACKAGES = ("openssh-server", "openssh")
PRIVSEP_DIRS = ("/var/empty", "/var/empty/sshd", "/run/sshd", "/usr/share/empty.sshd")
SERVICE_UNITS = ("ssh.service", "sshd.service")
_MAX_INCLUDE_DEPTH = 16  # sshd's own limit on nested Include
# Files read while expanding Include: a few files that each include their whole directory
# several times stay within the depth limit and still make 8**16 reads; past this many the
# fact is an error at once, not a probe that burns its deadline.
_MAX_INCLUDED_FILES = 1000


def _flatten(host: Host, path: str, base: str, depth: int, in_match: bool, out: dict) -> None:
    """Append ``path``'s directives to ``out`` with Include files expanded in place."""
    if len(out["files"]) >= _MAX_INCLUDED_FILES:
        raise ProbeError(f"{path}: Include expands to more than {_MAX_INCLUDED_FILES} files (files including "
                         "each other); not read further")
    out["files"].append(path)
    for d in parse_sshd_config(host.read_text(path)):
        d = {**d, "path": path, "in_match": d["in_match"] or in_match}
        if d["keyword"] != "include" or d.get("malformed"):
            out["directives"].append(d)
            continue
        if depth >= _MAX_INCLUDE_DEPTH:
            out["problems"].append(f"{path}:{d['line']}: Include nested deeper than {_MAX_INCLUDE_DEPTH}")
            continue
        for pattern in d["args"]:
            pattern = pattern if pattern.startswith("/") else posixpath.join(base, pattern)
            matches = host.glob(pattern)
            if not matches:
                out["problems"].append(f"{path}:{d['line']}: Include {pattern} matches no file")
            for included in matches:
                _flatten(host, included, base, depth + 1, d["in_match"], out)


def _located(directives: list[dict]) -> list[dict]:
    return [{"value": " ".join(d["args"]), "path": d["path"], "line": d["line"]} for d in directives]


def _socket(host: Host) -> dict | None:
    """ssh.socket's ListenStream values when the socket unit exists (Debian socket activation)."""
    path = find_unit(host, "ssh.socket")
    if path is None:
        return None
    enabled = host.glob("/etc/systemd/system/*.wants/ssh.socket")
    listen = list_setting(read_unit(host, path), "Socket", "ListenStream")
    return {
        "path": path,
        "enabled_via": enabled[0] if enabled else None,
        "listen": [{"value": e["value"], "path": e["path"], "line": e["line"]} for e in listen],
    }


@probe("sshd_config")
def sshd_config(host: Host) -> dict:
    """The global sshd settings that the ssh controls judge, per main config found.

    ``{"configs": [{"path", "files", "problems", "malformed": [{"path", "line"}],
    "protocol": {"value", "path", "line"} | None, "port": [...], "listen_address": [...]}],
    "looked": [...], "socket": {"path", "enabled_via", "listen": [...]} | None}``.
    """
    configs = []
    for main in MAIN_CONFIGS:
        if not host.exists(main):
            continue
        flat: dict[str, list] = {"files": [], "directives": [], "problems": []}
        _flatten(host, main, posixpath.dirname(main), 0, False, flat)
        settings = effective_settings(flat["directives"])
        protocol = _located(settings.get("protocol", []))
        configs.append({
            "path": main,
            "files": flat["files"],
            "problems": flat["problems"],
            "malformed": [{"path": d["path"], "line": d["line"]} for d in flat["directives"] if d.get("malformed")],
            "protocol": protocol[0] if protocol else None,
            "port": _located(settings.get("port", [])),
            "listen_address": _located(settings.get("listenaddress", [])),
        })
    return {"configs": configs, "looked": list(MAIN_CONFIGS), "socket": _socket(host)}


def _stat_dir(host: Host, path: str) -> dict:
    st = host.stat(path)
    return {"path": path, "is_dir": host.is_dir(path), "uid": st.st_uid, "gid": st.st_gid,
            "mode": st.st_mode & 0o7777}


def _runtime_directory(host: Host) -> dict | None:
    """The service unit's RuntimeDirectory= (systemd creates /run/<it> when sshd starts)."""
    for name in SERVICE_UNITS:
        path = find_unit(host, name)
        if path:
            values = list_setting(read_unit(host, path), "Service", "RuntimeDirectory")
            if values:
                return {"value": values[-1]["value"], "path": values[-1]["path"], "line": values[-1]["line"]}
    return None


@probe("sshd_install", needs=["packages"])
def sshd_install(host: Host, facts) -> dict:
    """How sshd is installed: package, binaries and their version strings, privsep dirs.

    ``{"package": {"name", "version", "source", "line"} | None, "package_error": str | None,
    "package_databases": [...], "packages_looked": [...], "binaries": [{"path", "version"}],
    "binaries_looked": [...], "privsep_dirs": [{"path", "is_dir", "uid", "gid", "mode"}],
    "privsep_looked": [...], "runtime_directory": {"value", "path", "line"} | None}``.
    An unreadable package database is recorded, not fatal: the binary still tells the version.
    """
    package_error = facts.error_of("packages")
    package, databases = None, []
    if package_error is None:
        installed = facts["packages"]["installed"]
        databases = list(facts["packages"]["databases"])
        package = next(({"name": n, **installed[n]} for n in PACKAGES if n in installed), None)
    binaries = []
    for path in BINARIES:
        if host.is_file(path):
            binaries.append({"path": path, "version": version_in_binary(host.read_bytes(path, limit=32 << 20))})
    return {
        "package": package,
        "package_error": package_error,
        "package_databases": databases,
        "packages_looked": list(PACKAGES),
        "binaries": binaries,
        "binaries_looked": list(BINARIES),
        "privsep_dirs": [_stat_dir(host, p) for p in PRIVSEP_DIRS if host.exists(p)],
        "privsep_looked": list(PRIVSEP_DIRS),
        "runtime_directory": _runtime_directory(host),
    }
