"""Checks of the os controls: Ctrl-Alt-Del, shell idle timeout and history, packages, no GUI."""

from __future__ import annotations

from hostaudit.model import Result, ev
from hostaudit.registry import check

VENDOR_UNIT = "/usr/lib/systemd/system/ctrl-alt-del.target"


# Programs an active ctrlaltdel entry may run that reboot nothing (the STIG kept the entry to log
# the key press: ca::ctrlaltdel:/usr/bin/logger ...). Anything else is taken to reboot.
HARMLESS_PROGRAMS = {"logger", "echo", "printf", "true", "false", ":"}


def _program(process: str) -> str:
    """The basename of the program an inittab process field runs (``+`` skips utmp, not the run)."""
    words = process.lstrip("+").split()
    if words and words[0] == "exec":
        words = words[1:]
    return words[0].rsplit("/", 1)[-1] if words else ""


def _inittab_findings(inittab: dict) -> tuple[list, list]:
    """(failures, notes) for the SysV inittab's ctrlaltdel entries."""
    path = inittab["path"]
    entries = [e for e in inittab["entries"] if not e["commented"]]
    line = "{id}:{runlevels}:ctrlaltdel:{process}"
    active = [ev(path, f"{line.format(**e)} is active", e["line"])
              for e in entries if _program(e["process"]) not in HARMLESS_PROGRAMS]
    notes = [ev(path, f"{line.format(**e)} runs {_program(e['process'])}, which does not reboot", e["line"])
             for e in entries if _program(e["process"]) in HARMLESS_PROGRAMS]
    notes += [ev(path, "ctrlaltdel entry commented out", e["line"]) for e in inittab["entries"] if e["commented"]]
    if not inittab["entries"]:
        notes = [ev(path, "no ctrlaltdel entry")]
    return active, notes


def _systemd_findings(systemd: dict) -> tuple[list, list]:
    """(failures, notes) for systemd's ctrl-alt-del.target: masked means linked to /dev/null."""
    override = systemd["override"]
    if override and override["target"] == "/dev/null":
        return [], [ev(override["path"], "masked (-> /dev/null)")]
    unit = systemd["unit"] or VENDOR_UNIT
    if override is None:
        state = "no mask in /etc/systemd/system"
    elif override["kind"] == "symlink":
        state = f"/etc/systemd/system override links to {override['target']}, not /dev/null"
    else:
        state = "/etc/systemd/system override is a regular file, not a mask"
    return [ev(unit, f"ctrl-alt-del.target active: {state}")], []


@check("os.ctrl-alt-del", needs=["ctrl_alt_del"])
def ctrl_alt_del(facts, params) -> Result:
    """Pressing Ctrl-Alt-Del at the console does not reboot the host."""
    fact = facts["ctrl_alt_del"]
    inittab, systemd = fact["inittab"], fact["systemd"]
    expected = ("no active ca::ctrlaltdel: line in /etc/inittab; systemd ctrl-alt-del.target masked; "
                "live: kernel.ctrl-alt-del = 0")
    kernel = fact.get("kernel")
    if kernel and kernel.get("value", "0") != "0":
        # The kernel reboots by itself: nothing init is told changes that.
        return Result.failed("Ctrl-Alt-Del reboots the host: the kernel does it without asking init",
                             evidence=[ev(kernel["path"], f"{kernel['value']}: the kernel reboots at once")],
                             expected=expected)
    if not inittab["present"] and not systemd["present"]:
        return Result.error(f"neither {inittab['path']} nor a systemd binary "
                            "(/lib/systemd/systemd, /usr/lib/systemd/systemd) was found: unknown init")
    # Both are judged when both exist: which one is init cannot be told from files alone.
    failures: list = []
    notes: list = []
    if inittab["present"]:
        bad, good = _inittab_findings(inittab)
        failures, notes = failures + bad, notes + good
    if systemd["present"]:
        bad, good = _systemd_findings(systemd)
        failures, notes = failures + bad, notes + good
    if kernel and kernel.get("value") == "0":
        notes.append(ev(kernel["path"], "0: the kernel leaves the key to init"))
    if failures:
        return Result.failed("Ctrl-Alt-Del reboots the host", evidence=failures + notes, expected=expected)
    if kernel and "error" in kernel:
        return Result.error(f"cannot read {kernel['path']}: {kernel['error']}", evidence=notes, expected=expected)
    return Result.passed("Ctrl-Alt-Del is disabled", evidence=notes, expected=expected)


def _setting_ev(setting: dict, note: str = "") -> object:
    return ev(setting["file"], f"{setting['text']}{note}", setting["line"])


def _effective(settings: list[dict], var: str) -> dict | None:
    """The statement whose value the shell keeps: the last assignment in load order, unless
    an earlier ``readonly`` froze the variable (later assignments then fail)."""
    kept = None
    for s in settings:
        if s["var"] != var or s["kind"] == "not-an-assignment":
            continue
        if s["value"] is not None:
            kept = s
        if s["readonly"]:
            break
    return kept


def _no_assignment(fact: dict, var: str, expected: str) -> Result:
    """A failure naming the files read and any ``VAR value`` lines that set nothing."""
    slips = [_setting_ev(s, f" has no '=': the shell runs a command named {var} and sets nothing")
             for s in fact["settings"] if s["var"] == var and s["kind"] == "not-an-assignment"]
    looked = ev(", ".join(fact["looked_in"]), f"no {var}= assignment in {len(fact['files'])} file(s) read")
    hidden = [_setting_ev(s, " (only root can read the file: other users' login shells skip it)")
              for s in fact.get("root_only", []) if s["var"] == var and s["kind"] != "not-an-assignment"]
    return Result.failed(f"{var} is not set", evidence=[*slips, *hidden, looked], expected=expected)


@check("os.shell-timeout", needs=["shell_profile"], params={"tmout": {"type": "integer", "minimum": 1}})
def shell_timeout(facts, params) -> Result:
    """Idle login shells are logged out after at most tmout seconds (TMOUT set and exported)."""
    limit = params["tmout"]
    fact = facts["shell_profile"]
    expected = f"TMOUT=v with 0 < v <= {limit}, exported"
    setting = _effective(fact["settings"], "TMOUT")
    if setting is None:
        return _no_assignment(fact, "TMOUT", expected)
    if not setting["value"].isdigit():
        return Result.error(f"TMOUT value {setting['value']!r} cannot be evaluated",
                            evidence=[_setting_ev(setting)], expected=expected)
    value = int(setting["value"])
    exports = [s for s in fact["settings"] if s["var"] == "TMOUT" and s["exported"]]
    problems = []
    if not 0 < value <= limit:
        problems.append(f"TMOUT={value} is outside 1..{limit}")
    if not exports:
        problems.append("TMOUT is never exported")
    evidence = [_setting_ev(setting), *(_setting_ev(s) for s in exports if s is not setting)]
    if problems:
        return Result.failed("; ".join(problems), evidence=evidence, expected=expected)
    return Result.passed(f"TMOUT={value}, exported", evidence=evidence, expected=expected)


@check("os.history-size", needs=["shell_profile"], params={"histsize": {"type": "integer", "minimum": 0}})
def history_size(facts, params) -> Result:
    """Shells keep at most histsize commands in memory (the last HISTSIZE assignment wins)."""
    limit = params["histsize"]
    fact = facts["shell_profile"]
    expected = f"HISTSIZE=v with 0 <= v <= {limit}"
    setting = _effective(fact["settings"], "HISTSIZE")
    if setting is None:
        return _no_assignment(fact, "HISTSIZE", expected)
    # A negative HISTSIZE means unlimited in bash >= 4.3, so only digits can pass.
    if not setting["value"].lstrip("-").isdigit():
        return Result.error(f"HISTSIZE value {setting['value']!r} cannot be evaluated",
                            evidence=[_setting_ev(setting)], expected=expected)
    value = int(setting["value"])
    if not 0 <= value <= limit:
        return Result.failed(f"HISTSIZE={value} exceeds {limit}" if value > limit else
                             f"HISTSIZE={value} means unlimited history", evidence=[_setting_ev(setting)],
                             expected=expected)
    return Result.passed(f"HISTSIZE={value}", evidence=[_setting_ev(setting)], expected=expected)


@check("os.skel-history-removal", needs=["skel_logout"])
def skel_history_removal(facts, params) -> Result:
    """New users' .bash_logout deletes their shell history when they log out."""
    fact = facts["skel_logout"]
    path = fact["path"]
    expected = "an uncommented 'rm $HOME/.bash_history' (or ~/.bash_history) and 'history -c'"
    if not fact["present"]:
        return Result.failed(f"{path} does not exist", evidence=[ev(path, "absent")], expected=expected)
    working = [line for line in fact["lines"] if line["removes"] and not line["commented"]]
    clears = fact.get("clears")
    if working and clears is not None and not clears:
        # bash runs .bash_logout first and writes the session's history after it
        return Result.failed(".bash_history is removed at logout, but bash writes the session's history after "
                             ".bash_logout runs: nothing clears it (history -c)",
                             evidence=[ev(path, working[0]["text"], working[0]["line"])], expected=expected)
    if working:
        return Result.passed("history is removed at logout",
                             evidence=[ev(path, working[0]["text"], working[0]["line"])]
                             + [ev(path, c["text"], c["line"]) for c in clears or []], expected=expected)
    seen = [ev(path, line["text"] + (" (commented out)" if line["commented"] else " (does not remove it)"),
               line["line"]) for line in fact["lines"]]
    return Result.failed(".bash_history is not removed at logout",
                         evidence=seen or [ev(path, "no line mentions .bash_history")], expected=expected)


def _installed(packages: dict, names: list[str]) -> list:
    """Evidence for each of ``names`` installed, citing its database (and stanza line)."""
    found = []
    for name in names:
        info = packages["installed"].get(name)
        if info:
            found.append(ev(info["source"], f"{name} {info['version']} installed", info["line"]))
    return found


def _packages_absent(facts, names: list[str], what: str) -> Result:
    packages = facts["packages"]
    expected = "not installed: " + " ".join(names)
    found = _installed(packages, names)
    if found:
        return Result.failed(f"{len(found)} {what} package(s) installed", evidence=found, expected=expected)
    return Result.passed(f"no {what} package installed",
                         evidence=[ev(", ".join(packages["databases"]), f"none of {len(names)} installed")],
                         expected=expected)


@check("os.packages-removed", needs=["packages"], params={"removed_packages": {"$ref": "#/$defs/package_names"}})
def packages_removed(facts, params) -> Result:
    """Packages the host does not need (NIS, NFS, portmap, sendmail...) are not installed."""
    return _packages_absent(facts, params["removed_packages"], "unneeded")


@check("os.no-gui", needs=["packages"], params={"gui_packages": {"$ref": "#/$defs/package_names"}})
def no_gui(facts, params) -> Result:
    """No X server or desktop environment is installed on the server."""
    return _packages_absent(facts, params["gui_packages"], "GUI")
