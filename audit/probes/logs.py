"""Log rotation policy from /etc/logrotate.conf."""

from __future__ import annotations

from hostaudit.host import Host
from hostaudit.parsers.logrotate import parse_logrotate_globals
from hostaudit.registry import probe

LOGROTATE_CONF = "/etc/logrotate.conf"


@probe("logrotate")
def logrotate(host: Host) -> dict:
    """The global rotation and retention directives of /etc/logrotate.conf.

    Global retention directives: ``{"path", "present", "directives": [{"name", "args",
    "line", "commented"}]}``."""
    if not host.exists(LOGROTATE_CONF):
        return {"path": LOGROTATE_CONF, "present": False, "directives": []}
    return {"path": LOGROTATE_CONF, "present": True,
            "directives": parse_logrotate_globals(host.read_text(LOGROTATE_CONF))}
