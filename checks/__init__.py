"""Checks: one module per area, each a set of short pure functions registered by control ID.

Importing this package registers every check.
"""

from hostaudit.checks import (  # noqa: F401
    accounts,
    auth,
    boot,
    files,
    fs,
    fw,
    integrity,
    kinds,
    logs,
    mail,
    mail_services,
    maint,
    net,
    operating_system,
    ssh,
)
