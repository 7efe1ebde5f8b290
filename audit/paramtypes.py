"""Types of check parameters: JSON Schema fragments, and the shared definitions they use.

A check declares each baseline parameter it reads as a JSON Schema fragment::

    @check("mail.databytes", needs=["qmail_control"],
           params={"databytes_max": {"type": "integer", "minimum": 1}})

A fragment may ``$ref`` a shared type of ``DEFS`` (``{"$ref": "#/$defs/port"}``) so that a
port is the same thing in every check. A parameter is required unless its fragment gives a
``default``; the runner passes the default when the baseline gives none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ParamSchema = Mapping[str, Any]

_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"

# A "description" is shown after a validation error, so it says what a right value looks like.
DEFS: dict[str, dict[str, Any]] = {
    "port": {
        "type": "integer", "minimum": 1, "maximum": 65535,
        "description": "a port number, 1-65535",
    },
    "ports": {
        "type": "array", "items": {"$ref": "#/$defs/port"}, "uniqueItems": True,
        "description": "a list of distinct port numbers, e.g. [25, 465]",
    },
    "account_name": {
        # As /etc/passwd and /etc/group can hold it: anything but the field and line separators.
        "type": "string", "pattern": r"^[^:\s]+$",
        "description": "a user or group name (no ':' or spaces), e.g. wheel",
    },
    "account_names": {
        "type": "array", "items": {"$ref": "#/$defs/account_name"}, "uniqueItems": True,
        "description": "a list of distinct user or group names",
    },
    "package_names": {
        "type": "array", "uniqueItems": True,
        "items": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9+._-]*$"},
        "description": "a list of distinct package names (dpkg or rpm), e.g. [sendmail, portmap]",
    },
    "mount_point": {
        "type": "string", "pattern": "^/",
        "description": "an absolute path, e.g. /home",
    },
    "version": {
        "type": "string", "pattern": r"^[0-9]+(\.[0-9]+)+(p[0-9]+)?$",
        "description": 'a dotted version in quotes, e.g. "3.4": YAML reads an unquoted 3.10 as 3.1',
    },
    "regex": {
        "type": "string", "format": "regex",
        "description": "a Python regular expression, searched in each line, e.g. ^PermitRootLogin\\s+no "
                       "(no repeat inside a repeat unless atomic or possessive: (?>a+)+)",
    },
    "ipv4_network": {
        "type": "string", "pattern": rf"^({_OCTET}\.){{3}}{_OCTET}(/(3[0-2]|[12]?[0-9]))?$",
        "description": "an IPv4 address or network, e.g. 192.168.1.0/24",
    },
}


def required(declared: Mapping[str, ParamSchema]) -> tuple[str, ...]:
    """Names of the declared parameters a baseline must give (those without a default)."""
    return tuple(name for name, schema in declared.items() if "default" not in schema)


def defaults(declared: Mapping[str, ParamSchema]) -> dict[str, Any]:
    """The declared defaults, by parameter name."""
    return {name: schema["default"] for name, schema in declared.items() if "default" in schema}


def object_schema(declared: Mapping[str, ParamSchema]) -> dict[str, Any]:
    """The schema a control's whole ``parameters`` mapping must satisfy: exactly the declared
    names (so a misspelt one is an error, not silently ignored), each of its type."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": DEFS,
        "type": "object",
        "properties": {name: dict(schema) for name, schema in declared.items()},
        "required": list(required(declared)),
        "additionalProperties": False,
    }
