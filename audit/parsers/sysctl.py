"""sysctl.conf(5) / sysctl.d(5) files and the order in which they override each other."""

from __future__ import annotations

import fnmatch
import posixpath
import re

# systemd-sysctl and procps `sysctl --system` read these, in this precedence for equal names.
SYSCTL_D_DIRS = (
    "/etc/sysctl.d",
    "/run/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
    "/lib/sysctl.d",
)
SYSCTL_CONF = "/etc/sysctl.conf"


def normalize_key(key: str) -> str:
    """The dotted form of a sysctl key.

    Keys may use ``/`` or ``.`` as separator; when the first separator is ``/``, dots are part
    of a name (``net/ipv4/conf/eth0.10/rp_filter``) and are kept as ``/`` in the dotted form,
    as sysctl(8) does.
    """
    key = key.strip().strip("/")
    slash, dot = key.find("/"), key.find(".")
    if slash != -1 and (dot == -1 or slash < dot):
        return key.translate(str.maketrans("/.", "./"))
    return key


def proc_path(key: str) -> str:
    """Where the running kernel exposes a dotted ``key``: /proc/sys/net/ipv4/tcp_syncookies."""
    return "/proc/sys/" + key.translate(str.maketrans("./", "/."))


_BLANKS = " \t\r\f\v"


def parse_sysctl_conf(text: str) -> list[dict]:
    """Parse ``key = value`` lines (``#`` and ``;`` comments, ``-key`` ignores failures).

    Each setting: key (dotted), value, ignore_failure, line (1-based). A line without ``=``
    comes back as ``{"line": n, "malformed": True}``.
    """
    settings: list[dict] = []
    # sysctl --system (procps, systemd-sysctl) ends a line at a newline only and trims C
    # blanks: a form feed or U+2028 inside a line does not start a new one.
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip(_BLANKS)
        if not line or line[0] in "#;":
            continue
        if "=" not in line:
            excluded = normalize_key(line[1:]) if line.startswith("-") else ""
            if excluded and not any(c.isspace() for c in excluded):
                # systemd: a key named without a value is kept out of every glob's reach
                settings.append({"key": excluded, "excluded": True, "ignore_failure": True, "line": number})
            else:
                settings.append({"line": number, "malformed": True})
            continue
        key, value = line.split("=", 1)
        key = key.strip(_BLANKS)
        ignore_failure = key.startswith("-")
        key = normalize_key(key.lstrip("-"))
        if not key:
            settings.append({"line": number, "malformed": True})
            continue
        settings.append(
            {
                "key": key,
                "value": " ".join(re.split(f"[{_BLANKS}]+", value.strip(_BLANKS))),
                "ignore_failure": ignore_failure,
                "line": number,
            }
        )
    return settings


def is_glob(key: str) -> bool:
    """Whether a sysctl.d key is a glob(7) pattern (``net.ipv4.conf.*.rp_filter``)."""
    return any(c in key for c in "*?[")


def winning_setting(files: list[tuple[str, list[dict]]], key: str) -> tuple[str, dict] | None:
    """The (path, entry) that sets ``key`` at boot, from parsed files in load order.

    systemd-sysctl: the last line naming ``key`` itself wins, and a glob reaches ``key`` only
    when no line names it ("Keys for which an explicit pattern exists will be excluded from any
    glob matching", sysctl.d(5)); a ``-key`` line without a value names it and sets nothing.
    procps before 4.0.3 applies no glob at all, so an explicit line wins there too.
    """
    explicit = glob = None
    for path, entries in files:
        for entry in entries:
            if entry.get("malformed"):
                continue
            if entry["key"] == key:
                explicit = (path, entry)
            elif is_glob(entry["key"]) and not entry.get("excluded") and fnmatch.fnmatchcase(key, entry["key"]):
                glob = (path, entry)
    if explicit is not None:
        return None if explicit[1].get("excluded") else explicit
    return glob


def load_order(found: dict[str, list[str]]) -> list[str]:
    """The files `sysctl --system` reads, in order, from ``{dir: [file names]}``.

    ``*.conf`` names are sorted across all directories; a name in an earlier directory of
    SYSCTL_D_DIRS masks the same name in later ones. /etc/sysctl.conf is not included here
    (the caller appends it last when it exists).
    """
    chosen: dict[str, str] = {}
    for directory in SYSCTL_D_DIRS:
        for name in found.get(directory, []):
            if name.endswith(".conf") and name not in chosen:
                chosen[name] = posixpath.join(directory, name)
    return [chosen[name] for name in sorted(chosen)]
