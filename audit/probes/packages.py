"""Installed packages, read from the package databases' files (so image mode works too)."""

from __future__ import annotations

import os
import sqlite3
import tempfile

from hostaudit.errors import ProbeError
from hostaudit.host import Host
from hostaudit.parsers.packages import parse_dpkg_status, parse_rpm_header
from hostaudit.registry import probe

DPKG_STATUS = "/var/lib/dpkg/status"
RPM_SQLITE = ("/var/lib/rpm/rpmdb.sqlite", "/usr/lib/sysimage/rpm/rpmdb.sqlite")
RPM_BDB = ("/var/lib/rpm/Packages", "/usr/lib/sysimage/rpm/Packages")
# Package databases outgrow configuration files: a full desktop's dpkg status is ~10 MiB, an
# rpmdb.sqlite a few hundred MiB. Beyond these the host is not what this tool audits.
DPKG_STATUS_LIMIT = 256 * 1024 * 1024
RPMDB_LIMIT = 1024 * 1024 * 1024


def _read_rpm_sqlite(host: Host, path: str) -> dict[str, dict]:
    # sqlite may want to create journal files next to the database: copy it to a private
    # temporary file first so the audited host is never written to.
    with tempfile.TemporaryDirectory(prefix="hostaudit-rpm-") as tmp:
        copy = os.path.join(tmp, "rpmdb.sqlite")
        with open(copy, "wb") as dst:
            host.copy_file(path, dst, limit=RPMDB_LIMIT)
        conn = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT blob FROM Packages").fetchall()
        except sqlite3.Error as exc:
            raise ProbeError(f"{path}: not a readable rpm database ({exc})") from exc
        finally:
            conn.close()
    installed: dict[str, dict] = {}
    for (blob,) in rows:
        try:
            header = parse_rpm_header(bytes(blob))
        except ValueError:
            continue
        version = "-".join(v for v in (header.get("version"), header.get("release")) if v)
        installed[header["name"]] = {"version": version, "line": None}
    return installed


@probe("packages")
def packages(host: Host) -> dict:
    """Installed packages from dpkg and/or rpm, with the database each came from.

    ``{"databases": [path...], "installed": {name: {"version", "line", "source"}}}``.
    A host with no readable database is a ProbeError: checks then say ``error``, since an
    absent package cannot be told from an unknown one.
    """
    installed: dict[str, dict] = {}
    databases: list[str] = []
    problems: list[str] = []
    if host.exists(DPKG_STATUS):
        for name, info in parse_dpkg_status(host.read_text(DPKG_STATUS, limit=DPKG_STATUS_LIMIT)).items():
            installed[name] = {**info, "source": DPKG_STATUS}
        databases.append(DPKG_STATUS)
    for path in RPM_SQLITE:
        if host.exists(path):
            for name, info in _read_rpm_sqlite(host, path).items():
                installed.setdefault(name, {**info, "source": path})
            databases.append(path)
            break
    else:
        for path in RPM_BDB:
            if host.exists(path):
                problems.append(f"{path} is a Berkeley DB rpm database, which hostaudit cannot read")
    if not databases:
        reason = "; ".join(problems) or f"no package database found ({DPKG_STATUS}, {RPM_SQLITE[0]})"
        raise ProbeError(reason)
    return {"databases": databases, "installed": installed, "problems": problems}
