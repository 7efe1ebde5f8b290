"""Shell start-up settings (TMOUT, HISTSIZE), /etc/shells and the skeleton .bash_logout."""

from __future__ import annotations

from hostaudit.host import ABSENT, Host
from hostaudit.parsers.lines import newline_lines
from hostaudit.parsers.shell_profile import history_removals, parse_shell_settings
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
    [{"file", "line", "text", "var", "value", "exported", "readonly", "kind"}]}``."""
    candidates = [PROFILE, *host.glob(PROFILE_D), *BASHRCS, *SKEL_RCS]
    files, settings = [], []
    for path in candidates:
        try:
            text = host.read_text(path)
        except ABSENT:  # absent, or a dangling link: the shell's ``[ -r ]`` skips it too
            continue
        files.append(path)
        for found in parse_shell_settings(text, VARIABLES):
            settings.append({"file": path, **found})
    return {"files": files, "looked_in": [PROFILE, PROFILE_D, *BASHRCS, *SKEL_RCS], "settings": settings}


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
    "lines": [{"line", "text", "commented", "removes"}]}``."""
    if not host.exists(SKEL_LOGOUT):
        return {"path": SKEL_LOGOUT, "present": False, "lines": []}
    return {"path": SKEL_LOGOUT, "present": True,
            "lines": history_removals(host.read_text(SKEL_LOGOUT))}
