"""qmail and its companions, read from files: control files, delivery, aliases, POP3 access
rules, the stunnel certificate, and the programs qmail relies on (never executed).
"""

from __future__ import annotations

import posixpath
import stat

from hostaudit.errors import NotCarried
from hostaudit.host import FS_IMMUTABLE_FL, Host
from hostaudit.parsers.qmail import delivery_template, dot_qmail_deliveries, entry_count, first_line, qmail_start_lines
from hostaudit.parsers.systemd_unit import parse_unit
from hostaudit.parsers.tcprules import parse_tcprules
from hostaudit.registry import probe

CONTROL_DIR = "/var/qmail/control"
DEFAULT_ALIAS_HOME = "/var/qmail/alias"
ALIAS_FILES = (".qmail-root", ".qmail-postmaster", ".qmail-mailer-daemon")
POP_RULES = "/etc/tcprules/pop.tcp"
POP_CDB = "/etc/tcprules/pop.tcp.cdb"
# The 2002 Red Hat location first, then where current distributions keep it.
STUNNEL_CERTS = ("/usr/share/ssl/certs/stunnel.pem", "/etc/stunnel/stunnel.pem", "/etc/ssl/certs/stunnel.pem")
STUNNEL_CONFS = "/etc/stunnel/*.conf"
SENDMAIL = "/usr/sbin/sendmail"
CHECKPASSWORD = ("/bin/checkpassword", "/usr/bin/checkpassword", "/usr/local/bin/checkpassword")
PROGRAM_DIRS = ("/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin")
# Byte strings that identify whose sendmail wrapper a regular file is, checked in this order.
MTA_MARKERS = (("qmail", b"/var/qmail"), ("postfix", b"postfix"), ("exim", b"exim"), ("sendmail", b"sendmail.cf"))
# A sendmail wrapper is small; exim's is the whole MTA (a few MiB). Larger is refused, not cut.
_PROGRAM_LIMIT = 64 << 20


def _file(host: Host, path: str) -> dict:
    """Presence, type, owner, mode and size of ``path`` (links followed inside the root).

    A path the auditor may not look at raises PermissionError (the fact becomes an error)
    rather than reading as absent.
    """
    try:
        st = host.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return {"path": path, "present": False}
    return {"path": path, "present": True, "is_file": stat.S_ISREG(st.st_mode), "is_dir": stat.S_ISDIR(st.st_mode),
            "uid": st.st_uid, "gid": st.st_gid, "mode": st.st_mode & 0o7777, "size": st.st_size,
            "mtime": st.st_mtime}


@probe("qmail_control")
def qmail_control(host: Host) -> dict:
    """qmail's control files databytes and badmailfrom.

    ``{"databytes": {file..., "first_line"}, "badmailfrom": {file..., "entries": int}}``."""
    databytes = _file(host, f"{CONTROL_DIR}/databytes")
    if databytes["present"]:  # a FIFO or directory here is refused, never read as empty
        databytes["first_line"] = first_line(host.read_text(databytes["path"]), databytes["path"])
    badmailfrom = _file(host, f"{CONTROL_DIR}/badmailfrom")
    if badmailfrom["present"] and badmailfrom["is_file"]:
        badmailfrom["entries"] = entry_count(host.read_text(badmailfrom["path"]))
    return {"databytes": databytes, "badmailfrom": badmailfrom}


@probe("qmail_delivery")
def qmail_delivery(host: Host) -> dict:
    """How qmail delivers: the ``qmail-start`` lines of /var/qmail/rc, control/defaultdelivery,
    and the new-user template in /etc/skel (Maildir dirs and .qmail lines)."""
    rc = _file(host, "/var/qmail/rc")
    if rc["present"]:
        rc["qmail_start"] = qmail_start_lines(host.read_text(rc["path"]), rc["path"])
    default = _file(host, f"{CONTROL_DIR}/defaultdelivery")
    if default["present"]:
        default["first_line"] = first_line(host.read_text(default["path"]), default["path"])
    skel_qmail = _file(host, "/etc/skel/.qmail")
    if skel_qmail["present"] and skel_qmail["is_file"]:
        skel_qmail.update(delivery_template(host.read_text(skel_qmail["path"])))
    return {
        "rc": rc,
        "defaultdelivery": default,
        "skel_maildir": {sub: host.is_dir(f"/etc/skel/Maildir/{sub}") for sub in ("cur", "new", "tmp")},
        "skel_qmail": skel_qmail,
    }


@probe("qmail_aliases", needs=["passwd"])
def qmail_aliases(host: Host, facts) -> dict:
    """The system alias files (.qmail-*) in the alias user's home, and where that home came from.

    The system alias files in ~alias: ``{"home", "home_from": {"where", "line", "text"},
    "files": [file..., "first_line", "deliveries"]}`` (deliveries as :func:`dot_qmail_deliveries`
    gives them); the qmail default home is used when passwd has no ``alias`` user or is
    unreadable, and ``home_from`` says so; ``home_unknown`` is then the reason passwd could not
    be read (an alias user there may have another home).
    """
    home = DEFAULT_ALIAS_HOME
    home_from = {"where": "/etc/passwd", "line": None, "text": f"no alias user: qmail default {home}"}
    home_unknown = facts.error_of("passwd")
    if home_unknown is not None:
        home_from["text"] = f"{home_unknown}: qmail default {home}"
    else:
        alias = next((u for u in facts["passwd"]["users"] if u.get("name") == "alias" and "home" in u), None)
        if alias:
            home = alias["home"]
            home_from = {"where": facts["passwd"]["path"], "line": alias["line"], "text": f"alias home {home}"}
    files = []
    for name in ALIAS_FILES:
        info = _file(host, posixpath.join(home, name))
        if info["present"] and info["is_file"]:
            text = host.read_text(info["path"])
            info["first_line"] = first_line(text, info["path"], judged_whole=False)
            info["deliveries"] = dot_qmail_deliveries(text)
        files.append(info)
    return {"home": home, "home_from": home_from, "home_unknown": home_unknown, "files": files}


@probe("pop_tcprules")
def pop_tcprules(host: Host) -> dict:
    """The POP3 access rules: /etc/tcprules/pop.tcp and its compiled pop.tcp.cdb.

    The POP3 access rules: ``{"source": {file..., "rules": [...]}, "cdb": {file...}}``."""
    source = _file(host, POP_RULES)
    if source["present"] and source["is_file"]:
        source["rules"] = parse_tcprules(host.read_text(POP_RULES))
    return {"source": source, "cdb": _file(host, POP_CDB)}


_STUNNEL_INCLUDE_DEPTH = 4


def _stunnel_conf_paths(host: Host, conf: str, depth: int, seen: set) -> list[tuple[str, str]]:
    """(cert or key path, where it was named) in one stunnel config and the parts it includes."""
    paths: list[tuple[str, str]] = []
    seen.add(conf)
    # stunnel.conf is ini-shaped like a unit file: [service] then "key = value".
    for entry in parse_unit(host.read_text(conf)):
        if entry.get("malformed") or not entry["value"]:
            continue
        # stunnel resolves a relative path from its config directory.
        path = posixpath.join(posixpath.dirname(conf), entry["value"])
        if entry["key"] in ("cert", "key"):
            paths.append((path, f"{conf}:{entry['line']} {entry['key']} ="))
        elif entry["key"] == "include" and depth < _STUNNEL_INCLUDE_DEPTH and host.is_dir(path):
            # stunnel 5 reads every file part of the directory, in name order
            for part in sorted(host.listdir(path)):
                full = posixpath.join(path, part)
                if full not in seen and host.is_file(full):
                    paths += _stunnel_conf_paths(host, full, depth + 1, seen)
    return paths


def _stunnel_paths(host: Host) -> list[tuple[str, str]]:
    """(path, where it was named) for the default locations and every cert/key in stunnel's
    configs, the parts an ``include = DIR`` pulls in counted too."""
    paths = [(p, "default location") for p in STUNNEL_CERTS]
    seen: set = set()
    for conf in host.glob(STUNNEL_CONFS):
        if conf not in seen:
            paths += _stunnel_conf_paths(host, conf, 0, seen)
    return paths


@probe("stunnel_cert")
def stunnel_cert(host: Host) -> dict:
    """stat and immutable bit of each stunnel certificate/key file; their contents are never read.

    ``{"files": [{"path", "named_by", "present", "uid", "gid", "mode", "immutable" | "attr_error"}],
    "looked": [...]}``.
    """
    files, seen = [], set()
    for path, named_by in _stunnel_paths(host):
        if path in seen:
            continue
        seen.add(path)
        info = {**_file(host, path), "named_by": named_by}
        if info["present"]:
            try:
                info["immutable"] = bool(host.attr_flags(path) & FS_IMMUTABLE_FL)
            except NotCarried as exc:
                info["attr_not_carried"] = exc.strerror
            except OSError as exc:
                info["attr_error"] = f"cannot read attributes: {exc.strerror or exc}"
        files.append(info)
    return {"files": [f for f in files if f["present"]], "looked": [f["path"] for f in files]}


def _resolve_chain(host: Host, path: str) -> tuple[list[str], str]:
    """The symlink hops from ``path`` (each ``link -> target``) and the final path, inside the root."""
    chain, current = [], path
    for _ in range(40):
        link = host.link_target(current)
        if link is None:  # not a link (or the chain ends in nothing)
            break
        target = posixpath.normpath(posixpath.join(posixpath.dirname(current), link))
        chain.append(f"{current} -> {target}")
        current = target
    return chain, current


def _sendmail(host: Host) -> dict:
    if not host.exists(SENDMAIL):
        return {"path": SENDMAIL, "present": False}
    chain, resolved = _resolve_chain(host, SENDMAIL)
    markers = []
    if host.is_file(resolved):
        data = host.read_bytes(resolved, limit=_PROGRAM_LIMIT)
        markers = [mta for mta, needle in MTA_MARKERS if needle in data]
    return {"path": SENDMAIL, "present": True, "chain": chain, "resolved": resolved,
            "resolved_exists": host.exists(resolved), "markers": markers}


@probe("mail_programs")
def mail_programs(host: Host) -> dict:
    """Where /usr/sbin/sendmail leads, checkpassword's stat, and where tcpserver/tcprules live.

    ``{"sendmail": {"path", "present", "chain", "resolved", "resolved_exists", "markers"},
    "checkpassword": [file...], "checkpassword_looked": [...], "ucspi": {"tcpserver": [path...],
    "tcprules": [path...]}, "ucspi_looked": [...]}``.
    """
    return {
        "sendmail": _sendmail(host),
        "checkpassword": [f for f in (_file(host, p) for p in CHECKPASSWORD) if f["present"]],
        "checkpassword_looked": list(CHECKPASSWORD),
        "ucspi": {name: [f"{d}/{name}" for d in PROGRAM_DIRS if host.is_file(f"{d}/{name}")]
                  for name in ("tcpserver", "tcprules")},
        "ucspi_looked": list(PROGRAM_DIRS),
    }
