"""Probes: each turns one part of the host's state into a plain, JSON-serialisable fact.

Probes do the I/O (through the Host) and hand text to a parser in ``hostaudit.parsers``.
Importing this package registers every probe.
"""

from hostaudit.probes import (  # noqa: F401
    accounts,
    attrs,
    auth,
    boot,
    disk,
    filestate,
    filewalk,
    firewall,
    init,
    logs,
    mounts,
    network,
    packages,
    qmail,
    rc,
    schedule,
    services,
    shell,
    sockets,
    ssh,
    sysctl,
    tripwire,
    unitstate,
)
