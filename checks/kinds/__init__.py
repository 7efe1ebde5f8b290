"""Generic control kinds: checks a baseline control names with ``kind:`` and parameters,
so a site adds a control in YAML alone (see docs/contributing.md).

Importing this package registers every kind.
"""

from hostaudit.checks.kinds import (  # noqa: F401
    account,
    file,
    mount,
    package,
    port,
    service,
    sysctl,
)
