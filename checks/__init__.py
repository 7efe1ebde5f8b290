"""Checks: one module per area, each a set of short pure functions registered by control ID.

Importing this package registers every check.
"""

from checks import (  # noqa: F401
    accounts,
    auth,
    boot,
    files,
    fs,
    integrity,
    logs,
    mail,
    maint,
    operating_system,
    ssh,
    sysctl,
)
