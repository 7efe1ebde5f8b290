"""Checks of the mail controls: qmail, its accounts and delivery, and the POP3/TLS wrappers."""

from __future__ import annotations

import posixpath

from hostaudit.model import Result, ev
from hostaudit.parsers.qmail import MAILDIR
from hostaudit.parsers.tcprules import effective_rule
from hostaudit.registry import check

# qmail's INSTALL.ids: user -> (primary group, home).
QMAIL_USERS = {
    "alias": ("nofiles", "/var/qmail/alias"),
    "qmaild": ("nofiles", "/var/qmail"),
    "qmaill": ("nofiles", "/var/qmail"),
    "qmailp": ("nofiles", "/var/qmail"),
    "qmailq": ("qmail", "/var/qmail"),
    "qmailr": ("qmail", "/var/qmail"),
    "qmails": ("qmail", "/var/qmail"),
}
DOCUMENT_TYPO_HOME = "/var/qamil"  # the 2002 document's useradd line for qmailp


def _mode(info: dict) -> str:
    return f"uid {info['uid']} gid {info['gid']} mode {info['mode']:04o}"


def _sendmail_owner(sendmail: dict) -> str | None:
    """Which MTA's program /usr/sbin/sendmail ends at: by its resolved path, else by its bytes."""
    resolved = sendmail["resolved"]
    for mta, hint in (("qmail", "/var/qmail/"), ("postfix", "postfix"), ("exim", "exim"),
                      ("sendmail", "sendmail.sendmail")):
        if hint in resolved:
            return mta
    return sendmail["markers"][0] if sendmail["markers"] else None


@check("mail.sendmail-removed", needs=["packages", "mail_programs"])
def sendmail_removed(facts, params) -> Result:
    """The sendmail MTA is gone; /usr/sbin/sendmail, if any, is another MTA's wrapper."""
    installed = facts["packages"]["installed"]
    packages = sorted(n for n in installed if n == "sendmail" or n.startswith("sendmail-"))
    evidence = [ev(installed[n]["source"], f"{n} {installed[n]['version']} installed", installed[n].get("line"))
                for n in packages]
    sendmail = facts["mail_programs"]["sendmail"]
    if not sendmail["present"]:
        evidence.append(ev(sendmail["path"], "absent"))
        owner = None
    else:
        owner = _sendmail_owner(sendmail)
        hops = "; ".join(sendmail["chain"]) or "regular file"
        state = "" if sendmail["resolved_exists"] else " (dangling)"
        evidence.append(ev(sendmail["path"], f"{hops}{state}; belongs to {owner or 'unknown'}"))
    if packages or owner == "sendmail":
        found = packages + (["sendmail binary at " + sendmail["resolved"]] if owner == "sendmail" else [])
        return Result.failed(f"sendmail still installed: {', '.join(found)}", evidence=evidence,
                             expected="no sendmail package; /usr/sbin/sendmail -> /var/qmail/bin/sendmail")
    if sendmail["present"] and sendmail["resolved_exists"] and owner is None:
        return Result.error(f"cannot tell which MTA {sendmail['resolved']} belongs to", evidence=evidence)
    wrapper = f"; /usr/sbin/sendmail is {owner}'s wrapper" if owner else ""
    return Result.passed(f"no sendmail package{wrapper}", evidence=evidence)


@check("mail.qmail-accounts", needs=["passwd", "group"])
def qmail_accounts(facts, params) -> Result:
    """qmail's users exist in their groups with their homes, as INSTALL.ids sets them up."""
    passwd, groups = facts["passwd"], facts["group"]
    users = {u["name"]: u for u in passwd["users"] if "uid" in u}
    gids = {g["name"]: g["gid"] for g in groups["groups"] if "gid" in g}
    evidence, problems = [], []
    for name, (group, home) in QMAIL_USERS.items():
        user = users.get(name)
        if user is None:
            problems.append(f"{name} missing")
            evidence.append(ev(passwd["path"], f"no {name} user"))
            continue
        wrong = []
        if group not in gids:
            wrong.append(f"group {group} missing from {groups['path']}")
        elif user["gid"] != gids[group]:
            wrong.append(f"gid {user['gid']}, not {group} ({gids[group]})")
        if user["home"] == DOCUMENT_TYPO_HOME:
            wrong.append(f"home {DOCUMENT_TYPO_HOME}: the document's typo for {home}")
        elif user["home"] != home:
            wrong.append(f"home {user['home']}, not {home}")
        text = "; ".join(wrong) if wrong else f"gid {user['gid']} ({group}), home {home}"
        evidence.append(ev(passwd["path"], f"{name}: {text}", user["line"]))
        problems += [f"{name} {w}" for w in wrong]
    if problems:
        return Result.failed("; ".join(problems), evidence=evidence,
                             expected="alias, qmaild, qmaill, qmailp in nofiles; qmailq, qmailr, qmails in qmail; "
                                      "home /var/qmail (alias: /var/qmail/alias)")
    return Result.passed("all seven qmail users exist with their groups and homes", evidence=evidence)


@check("mail.databytes", needs=["qmail_control"], params={"databytes_max": {"type": "integer", "minimum": 1}})
def databytes(facts, params) -> Result:
    """qmail refuses messages larger than the site's limit."""
    limit = int(params["databytes_max"])
    info = facts["qmail_control"]["databytes"]
    expected = f"an integer 0 < n <= {limit}"
    if not info["present"]:
        return Result.failed("no databytes limit: qmail accepts messages of any size",
                             evidence=[ev(info["path"], "absent")], expected=expected)
    # qmail strips trailing blanks only; its number must start at the line's first byte
    value = (info.get("first_line") or "").rstrip()
    evidence = [ev(info["path"], f"databytes={value or '(empty)'}", 1)]
    if not value.isdigit():
        blank = ": qmail reads no number after a leading blank and sets no limit" \
            if value.strip().isdigit() else ""
        return Result.failed(f"databytes {value or '(empty)'!r} is not a positive integer{blank}",
                             evidence=evidence, expected=expected)
    number = int(value)
    if number == 0:
        return Result.failed("databytes 0 means unlimited to qmail", evidence=evidence, expected=expected)
    if number > limit:
        return Result.failed(f"databytes {number} exceeds {limit}", evidence=evidence, expected=expected)
    return Result.passed(f"databytes {number} <= {limit}", evidence=evidence)


@check("mail.badmailfrom", needs=["qmail_control"])
def badmailfrom(facts, params) -> Result:
    """A sender blacklist is in place."""
    info = facts["qmail_control"]["badmailfrom"]
    if not info["present"] or not info["is_file"]:
        return Result.failed("no badmailfrom file", evidence=[ev(info["path"], "absent")],
                             expected="control/badmailfrom present")
    return Result.passed("badmailfrom present", evidence=[ev(info["path"], f"{info.get('entries', 0)} entries")])


def _delivery_issues(found: dict) -> list[str]:
    """Why a non-empty alias file does not bring the mail to a person (dot-qmail(5))."""
    if found["blank_first"]:
        return ["first line is blank: qmail-local defers every message (#4.2.1)"]
    if not (found["forwards"] or found["files"] or found["programs"]):
        return ["has only comments: qmail-local throws the mail away"]
    if not (found["forwards"] or found["programs"]):  # a program may forward: it is not judged
        return ["delivers only to " + ", ".join(d["text"] for d in found["files"])
                + " in the alias home, which no user reads"]
    return []


@check("mail.aliases", needs=["qmail_aliases"])
def aliases(facts, params) -> Result:
    """Mail to root, postmaster and mailer-daemon is redirected to a real user."""
    aliases = facts["qmail_aliases"]
    source = aliases["home_from"]
    evidence = [ev(source["where"], source["text"], source["line"])]
    problems = []
    for f in aliases["files"]:
        name = posixpath.basename(f["path"])
        if not f["present"] or not f["is_file"]:
            problems.append(f"{name} missing")
            evidence.append(ev(f["path"], "absent"))
            continue
        issues = []
        if f["mode"] != 0o644:
            issues.append(f"mode {f['mode']:04o}, not 0644")
        if f["size"] == 0:
            issues.append("empty: mail piles up in the alias Maildir unread")
        elif f.get("deliveries"):
            issues += _delivery_issues(f["deliveries"])
        evidence.append(ev(f["path"], "; ".join(issues) or f"mode 0644, delivers to {f['first_line']!r}", 1))
        problems += [f"{name} {i}" for i in issues]
    expected = ".qmail-root, .qmail-postmaster, .qmail-mailer-daemon: mode 0644, naming a real user"
    if aliases.get("home_unknown"):
        # The alias user's home is in passwd; the default home may not be the one qmail uses.
        return Result.error(f"cannot tell the alias user's home: {aliases['home_unknown']}",
                            evidence=evidence, expected=expected)
    if problems:
        return Result.failed("; ".join(problems), evidence=evidence, expected=expected)
    return Result.passed("system aliases redirect to a user", evidence=evidence)


def _delivery_verdict(arg: str, evidence: list) -> Result:
    if arg == MAILDIR:
        return Result.passed("qmail delivers to ./Maildir/", evidence=evidence)
    if arg == MAILDIR.rstrip("/"):
        return Result.failed("qmail-start ./Maildir lacks the trailing slash: qmail then appends to an "
                             "mbox file named Maildir", evidence=evidence, expected="qmail-start ./Maildir/")
    return Result.failed(f"qmail delivers to {arg or '(nothing)'}, not ./Maildir/", evidence=evidence,
                         expected="qmail-start ./Maildir/")


@check("mail.maildir", needs=["qmail_delivery"])
def maildir(facts, params) -> Result:
    """qmail delivers into Maildir/ directories, not mbox files."""
    delivery = facts["qmail_delivery"]
    rc = delivery["rc"]
    if not rc["present"] or not rc.get("qmail_start"):
        text = "absent" if not rc["present"] else "no qmail-start line"
        return Result.failed(f"{rc['path']}: {text}", evidence=[ev(rc["path"], text)],
                             expected="qmail-start ./Maildir/")
    line = rc["qmail_start"][0]
    evidence = [ev(rc["path"], line["text"], line["line"])]
    after = line["text"].split("qmail-start", 1)[1].split()
    arg = after[0].strip("'\"") if after else ""
    if "defaultdelivery" in line["text"]:
        default = delivery["defaultdelivery"]
        if not default["present"]:
            evidence.append(ev(default["path"], "absent"))
            return Result.failed("rc reads control/defaultdelivery, which is missing", evidence=evidence,
                                 expected="./Maildir/ in control/defaultdelivery")
        arg = (default.get("first_line") or "").strip()
        evidence.append(ev(default["path"], arg, 1))
    return _delivery_verdict(arg, evidence)


@check("mail.skel-maildir", needs=["qmail_delivery"])
def skel_maildir(facts, params) -> Result:
    """New accounts get a Maildir and a .qmail delivering to it."""
    delivery = facts["qmail_delivery"]
    missing = [f"/etc/skel/Maildir/{sub}" for sub, ok in delivery["skel_maildir"].items() if not ok]
    evidence = [ev(p, "missing") for p in missing]
    qmail = delivery["skel_qmail"]
    lines = qmail.get("lines", [])
    if qmail.get("maildir_line"):
        evidence.append(ev(qmail["path"], MAILDIR, qmail["maildir_line"]))
    else:
        missing.append(qmail["path"])
        found = "absent" if not qmail["present"] else f"no {MAILDIR} line (found: {'; '.join(lines[:3]) or 'empty'})"
        evidence.append(ev(qmail["path"], found))
    if missing:
        return Result.failed(f"skeleton incomplete: {', '.join(missing)}", evidence=evidence,
                             expected="/etc/skel/Maildir/{cur,new,tmp} and /etc/skel/.qmail with ./Maildir/")
    evidence.insert(0, ev("/etc/skel/Maildir", "cur, new, tmp present"))
    return Result.passed("new accounts get ./Maildir/", evidence=evidence)


@check("mail.pop3-tcprules", needs={"*": ["pop_tcprules"], "live": ["processes"]})
def pop3_tcprules(facts, params) -> Result:
    """POP3 is accepted from 127. only: the rules, their cdb, and (live) tcpserver using it."""
    files = _pop3_rules_files(facts)
    if facts.mode != "live":
        return files
    return Result.combine(files, _pop3_server_uses_cdb(facts["processes"], facts["pop_tcprules"]["cdb"]["path"]))


def _tcpserver_rules_db(cmdline: str) -> str | None:
    """The ``-x`` cdb of a tcpserver command line (``-x file`` or ``-xfile``), or None."""
    words = cmdline.split()
    for i, word in enumerate(words[1:], start=1):
        if word == "-x" and i + 1 < len(words):
            return words[i + 1]
        if word.startswith("-x") and len(word) > 2:
            return word[2:]
    return None


def _pop3_server_uses_cdb(processes: dict, cdb_path: str) -> Result:
    """The running POP3 tcpserver (qmail-popup, or port 110) enforces ``cdb_path`` with -x."""
    servers = [p for p in processes["processes"] if p["name"] == "tcpserver"
               and ("qmail-popup" in p["cmdline"] or " 110 " in f" {p['cmdline']} " or " pop3 " in f" {p['cmdline']} ")]
    if not servers:
        return Result.not_applicable("no POP3 tcpserver is running now (process table)")
    evidence = [ev(f"pid {p['pid']}", p["cmdline"]) for p in servers]
    loose = [p["pid"] for p in servers if _tcpserver_rules_db(p["cmdline"]) != cdb_path]
    if loose:
        return Result.failed(f"POP3 tcpserver (pid {', '.join(map(str, loose))}) does not run with -x {cdb_path}",
                             evidence=evidence, expected=f"tcpserver -x {cdb_path} ... 110 qmail-popup ...")
    return Result.passed(f"the POP3 tcpserver enforces {cdb_path}", evidence=evidence)


def _pop3_rules_files(facts) -> Result:
    """Cleartext POP3 is accepted from the loopback network only.

    tcpserver looks an address up in the cdb by exact text, then shorter prefixes, then the
    empty catch-all; so the catch-all must be ``deny`` and every ``allow`` must be under 127.
    """
    rules, cdb = facts["pop_tcprules"]["source"], facts["pop_tcprules"]["cdb"]
    expected = "127.:allow and :deny, compiled into a current pop.tcp.cdb"
    if not rules["present"] or "rules" not in rules:
        return Result.failed("no POP3 access rules", evidence=[ev(rules["path"], "absent")], expected=expected)
    evidence, problems = [], []
    for r in rules["rules"]:
        if r.get("malformed"):
            problems.append(f"line {r['line']} unparseable")
            evidence.append(ev(rules["path"], f"tcprules rejects: {r['text']}", r["line"]))
        elif r["action"] == "allow" and not r["address"].startswith("127."):
            problems.append(f"allows {r['address'] or 'everyone'}")
            evidence.append(ev(rules["path"], f"{r['address']}:allow", r["line"]))
        else:
            evidence.append(ev(rules["path"], f"{r['address']}:{r['action']}", r["line"]))
    catch_all = effective_rule(rules["rules"], "")
    if catch_all is None:
        problems.append("no catch-all :deny (tcpserver allows unmatched addresses)")
    if not cdb["present"]:
        problems.append("pop.tcp.cdb missing: the rules were never compiled")
        evidence.append(ev(cdb["path"], "absent"))
    elif cdb["mtime"] < rules["mtime"]:
        problems.append("pop.tcp.cdb is older than pop.tcp: edits not compiled")
        evidence.append(ev(cdb["path"], "older than pop.tcp"))
    else:
        evidence.append(ev(cdb["path"], "compiled after pop.tcp"))
    if problems:
        return Result.failed("; ".join(problems), evidence=evidence, expected=expected)
    return Result.passed("POP3 allowed from 127. only, everything else denied", evidence=evidence)


@check("mail.stunnel-cert", needs=["stunnel_cert"])
def stunnel_cert(facts, params) -> Result:
    """The TLS wrapper's certificate and key are root-only and immutable."""
    cert = facts["stunnel_cert"]
    expected = "owner root:root, mode 0400 or 0600, immutable (chattr +i)"
    if not cert["files"]:
        return Result.failed("no stunnel certificate found", evidence=[ev(p, "absent") for p in cert["looked"]],
                             expected=expected)
    evidence, problems, unknown, not_carried = [], [], [], []
    for f in cert["files"]:
        issues = []
        if (f["uid"], f["gid"]) != (0, 0):
            issues.append(f"owner {f['uid']}:{f['gid']}")
        if f["mode"] & 0o077:
            issues.append(f"mode {f['mode']:04o} gives group/other access")
        if "attr_not_carried" in f:
            not_carried.append(f"{f['path']}: {f['attr_not_carried']}")
        elif "attr_error" in f:
            unknown.append(f"{f['path']}: {f['attr_error']}")
        elif not f["immutable"]:
            issues.append("not immutable")
        state = "immutable" if f.get("immutable") else \
            f.get("attr_error", f.get("attr_not_carried", "not immutable"))
        evidence.append(ev(f["path"], f"{_mode(f)}, {state} ({f['named_by']})"))
        problems += [f"{f['path']} {i}" for i in issues]
    if problems:
        return Result.failed("; ".join(problems), evidence=evidence, expected=expected)
    if unknown:
        return Result.error("; ".join(unknown), evidence=evidence, expected=expected)
    if not_carried:
        return Result.not_applicable("owner and mode are right, immutability is unknown: "
                                     + "; ".join(not_carried), evidence=evidence)
    return Result.passed("stunnel certificate is root-only and immutable", evidence=evidence)


@check("mail.checkpassword", needs=["mail_programs"])
def checkpassword(facts, params) -> Result:
    """POP3's password checker is installed and only root can change it."""
    programs = facts["mail_programs"]
    found = programs["checkpassword"]
    if not found:
        return Result.failed("checkpassword not installed",
                             evidence=[ev(p, "absent") for p in programs["checkpassword_looked"]],
                             expected="/bin/checkpassword, root-owned, not group/world-writable")
    evidence = [ev(f["path"], _mode(f)) for f in found]
    bad = [f["path"] for f in found if f["uid"] != 0 or f["mode"] & 0o022 or not f["is_file"]]
    if bad:
        return Result.failed(f"checkpassword modifiable by non-root: {', '.join(bad)}", evidence=evidence,
                             expected="owner root, no group/other write")
    return Result.passed("checkpassword root-owned and not writable by others", evidence=evidence)


@check("mail.ucspi-tcp", needs=["mail_programs"])
def ucspi_tcp(facts, params) -> Result:
    """tcpserver and tcprules are installed."""
    programs = facts["mail_programs"]
    evidence = [ev(path, "present") for paths in programs["ucspi"].values() for path in paths]
    missing = [name for name, paths in programs["ucspi"].items() if not paths]
    if missing:
        where = ", ".join(programs["ucspi_looked"])
        evidence += [ev(where, f"no {name}") for name in missing]
        return Result.failed(f"{' and '.join(missing)} not installed", evidence=evidence,
                             expected="tcpserver and tcprules in a PATH directory")
    return Result.passed("tcpserver and tcprules installed", evidence=evidence)
