"""Generic kind ``package``: a package is installed (optionally in a version range) or absent.

    - id: site.packages.telnetd
      kind: package
      parameters: {name: telnetd, state: absent}
    - id: site.packages.openssl
      kind: package
      parameters: {name: openssl, version: "3.0.11", compare: ">="}
"""

from __future__ import annotations

from hostaudit.model import Result, ev
from hostaudit.parsers.versions import compare_versions
from hostaudit.registry import kind

_HOLDS = {"=": (0,), "!=": (-1, 1), ">=": (0, 1), "<=": (-1, 0), ">": (1,), "<": (-1,)}


@kind("package", needs=["packages"], params={
    "name": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9+._-]*$",
             "description": "a package name (dpkg or rpm), e.g. telnetd"},
    "state": {"enum": ["installed", "absent"], "default": "installed",
              "description": "installed (default) or absent"},
    "version": {"type": "string", "pattern": r"^[A-Za-z0-9.+:~_-]+$", "default": None,
                "description": 'a version to compare the installed one with, in quotes, e.g. "3.0.11"'},
    "compare": {"enum": list(_HOLDS), "default": ">=",
                "description": 'how the installed version must relate to version (default ">=")'},
}, constraints={"not": {"required": ["state", "version"], "properties": {"state": {"const": "absent"}}},
                "description": "an absent package has no version to compare"})
def package_control(facts, params) -> Result:
    """The package database lists the package (in the wanted versions), or does not."""
    name, packages = params["name"], facts["packages"]
    found = packages["installed"].get(name)
    databases = ", ".join(packages["databases"])
    version, compare = params.get("version"), params["compare"]
    expected = (f"{name} absent" if params["state"] == "absent"
                else f"{name} installed" + (f", version {compare} {version}" if version else ""))
    if found is None:
        seen = ev(databases, f"{name}: not installed")
        if params["state"] == "absent":
            return Result.passed(f"{name} is not installed", evidence=[seen], expected=expected)
        return Result.failed(f"{name} is not installed", evidence=[seen], expected=expected)
    seen = ev(found["source"], f"{name} {found['version']} installed", found.get("line"))
    if params["state"] == "absent":
        return Result.failed(f"{name} {found['version']} is installed", evidence=[seen],
                             expected=expected)
    if version and compare_versions(found["version"], version) not in _HOLDS[compare]:
        return Result.failed(f"{name} {found['version']} is installed, not {compare} {version}",
                             evidence=[seen], expected=expected)
    return Result.passed(f"{name} {found['version']} is installed", evidence=[seen],
                         expected=expected)
