"""Probes: each turns one part of the host's state into a plain, JSON-serialisable fact.

Probes do the I/O (through the Host) and hand text to a parser in ``audit.parsers``.
Importing this package registers every probe.
"""

from audit.probes import (  # noqa: F401
    accounts,
    attrs,
    auth,
    boot,
    disk,
    init,
    logs,
    mounts,
    packages,
    qmail,
    rc,
    schedule,
    services,
    shell,
    ssh,
    sysctl,
    tripwire,
)
