"""Shell start-up settings (TMOUT, HISTSIZE), /etc/shells and the skeleton .bash_logout."""

from __future__ import annotations

from hostaudit.host import ABSENT, Host
from hostaudit.parsers.lines import newline_lines
from hostaudit.parsers.shell_profile import history_clears, history_removals, parse_shell_settings
from hostaudit.registry import probe

PROFILE = "/etc/profile"
PROFILE_D = "/etc/profile.d/*.sh"
# Debian's bash reads /etc/bash.bashrc, Red Hat's /etc/bashrc; both run for interactive shells.
BASHRCS = ("/etc/bash.bashrc", "/etc/bashrc")
# What a new user's login shell reads last: the skeleton files copied into every new home
# (Debian's /etc/skel/.bashrc sets HISTSIZE=1000, silently undoing /etc/profile).
SKEL_RCS = ("/etc/skel/.bash_profile", "/etc/skel/.profile", "/etc/skel/.bashrc")
SHELLS = "/etc/shells"
SKEL_LOGOUT = "/etc/skel/.bash_logout"
VARIABLES = ("TMOUT", "HISTSIZE")


@probe("shell_profile")
def shell_profile(host: Host) -> dict:
    """TMOUT and HISTSIZE settings in the shell startup files, in the order a login shell reads them.

    TMOUT/HISTSIZE statements in load order: ``{"files": [path read...], "settings":
    [{"file", "line", "text", "var", "value", "exported", "readonly", "kind"}], "root_only":
    [settings...]}``; ``root_only`` are those of system-wide files only root can read, which
    other users' login shells never run."""
    candidates = [PROFILE, *host.glob(PROFILE_D), *BASHRCS, *SKEL_RCS]
    files, settings, root_only = [], [], []
    for path in candidates:
        try:
            text = host.read_text(path)
        except ABSENT:  # absent, or a dangling link: the shell's ``[ -r ]`` skips it too
            continue
        found = [{"file": path, **f} for f in parse_shell_settings(text, VARIABLES)]
        if path not in SKEL_RCS and _root_only(host, path):
            root_only += found  # other users' shells cannot read it ([ -r ] fails, or bash is refused)
            continue
        files.append(path)
        settings += found
    return {"files": files, "looked_in": [PROFILE, PROFILE_D, *BASHRCS, *SKEL_RCS], "settings": settings,
            "root_only": root_only}


def _root_only(host: Host, path: str) -> bool:
    """Whether only root can read a system-wide start-up file (no read bit for other, nor for a
    group other than root). The skeleton files are copied into each home, owned by its user."""
    if not host.carries("modes"):
        return False
    try:
        info = host.stat(path)
    except OSError:
        return False
    return not info.st_mode & 0o004 and not (info.st_mode & 0o040 and info.st_gid != 0)


@probe("login_shells")
def login_shells(host: Host) -> dict:
    """The login shells /etc/shells allows.

    /etc/shells: ``{"path", "present", "shells": [path...]}``."""
    if not host.exists(SHELLS):
        return {"path": SHELLS, "present": False, "shells": []}
    lines = (raw.split("#", 1)[0].strip() for raw in newline_lines(host.read_text(SHELLS)))
    return {"path": SHELLS, "present": True, "shells": [line for line in lines if line]}


@probe("skel_logout")
def skel_logout(host: Host) -> dict:
    """The lines of /etc/skel/.bash_logout that mention .bash_history.

    /etc/skel/.bash_logout lines mentioning .bash_history: ``{"path", "present",
    "lines": [{"line", "text", "commented", "removes"}], "clears": [{"line", "text"}]}``;
    ``clears`` are the lines that keep bash from saving the session's history at exit."""
    if not host.exists(SKEL_LOGOUT):
        return {"path": SKEL_LOGOUT, "present": False, "lines": [], "clears": []}
    text = host.read_text(SKEL_LOGOUT)
    return {"path": SKEL_LOGOUT, "present": True, "lines": history_removals(text), "clears": history_clears(text)}
