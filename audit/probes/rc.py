"""Run-control scripts: the files under /etc/rc.d (2002) and /etc/init.d, /etc/rc?.d (today)."""

from __future__ import annotations

import stat

from hostaudit.host import Host
from hostaudit.registry import probe

RC_D = "/etc/rc.d"
INIT_D = "/etc/init.d"
RUNLEVEL_DIRS = "/etc/rc?.d"
_MAX_DEPTH = 4


def _walk(host: Host, directory: str, depth: int = 0):
    """Target paths of every entry under ``directory`` (directory links are not entered)."""
    for name in host.listdir(directory):
        path = f"{directory}/{name}"
        if stat.S_ISDIR(host.lstat(path).st_mode):
            if depth < _MAX_DEPTH:
                yield from _walk(host, path, depth + 1)
        else:
            yield path


@probe("rc_scripts")
def rc_scripts(host: Host) -> dict:
    """Every run-control script reached from the rc directories, by the file it resolves to.

    ``{"looked_in": [...], "dirs": [existing dirs], "scripts": [{path, via, mode}]}`` where
    ``path`` is the script file (links resolved), ``via`` the first name it was found
    under, and ``mode`` its permission bits; dangling links are left out.
    """
    dirs = [d for d in (RC_D, INIT_D, *host.glob(RUNLEVEL_DIRS)) if host.is_dir(d)]
    scripts: dict[str, dict] = {}
    for directory in dict.fromkeys(host.canonical(d) for d in dirs):
        for path in _walk(host, directory):
            target = host.canonical(path)
            if target in scripts or not host.is_file(target):
                continue
            mode = stat.S_IMODE(host.stat(target).st_mode)
            scripts[target] = {"path": target, "via": path, "mode": mode}
    return {"looked_in": [RC_D, INIT_D, RUNLEVEL_DIRS], "dirs": dirs,
            "scripts": sorted(scripts.values(), key=lambda s: s["path"])}
