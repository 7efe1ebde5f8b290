"""files: critical files carry the immutable attribute (``chattr +i``)."""

from __future__ import annotations

from hostaudit.checks.boot import without_config
from hostaudit.model import Result, ev
from hostaudit.registry import check

BOOTLOADER_FILES = ("/etc/grub.conf", "/boot/grub/grub.conf",
                    "/boot/grub/grub.cfg", "/boot/grub2/grub.cfg")
# Tar and most image builders drop inode flags: say so when an image fails.
IMAGE_NOTE = " (image mode reads the flag of the unpacked tree; archives do not keep it)"


def _immutable(info: dict, mode: str) -> Result:
    expected = f"immutable attribute set (chattr +i {info['path']})"
    where = f"{info['path']} -> {info['target']}" if info.get("target") else info["path"]
    if not info["exists"]:
        return Result.failed(f"{info['path']} does not exist",
                             evidence=[ev(where, "no such file")], expected=expected)
    if "not_carried" in info:
        return Result.not_applicable(f"{where}: {info['not_carried']}, so whether it is immutable "
                                     "is unknown", evidence=[ev(where, info["not_carried"])])
    if "error" in info:
        return Result.error(f"cannot read the attributes of {where}: {info['error']}",
                            evidence=[ev(where, info["error"])], expected=expected)
    extra = ", append-only" if info["append_only"] else ""
    if info["immutable"]:
        return Result.passed(f"{where} is immutable",
                             evidence=[ev(where, f"flags: immutable{extra}")], expected=expected)
    note = IMAGE_NOTE if mode == "image" else ""
    return Result.failed(f"{where} is not immutable{note}",
                         evidence=[ev(where, f"flags: not immutable{extra}")], expected=expected)


def _register(name: str, path: str) -> None:
    def immutable(facts, params) -> Result:
        """The critical file cannot be changed without first clearing its immutable bit."""
        return _immutable(facts["critical_file_attrs"][path], facts.mode)

    check(f"files.immutable.{name}", needs=["critical_file_attrs"])(immutable)


for _name in ("passwd", "shadow", "group", "gshadow"):
    _register(_name, f"/etc/{_name}")


@check("files.immutable.bootloader", needs=["critical_file_attrs", "boot_stack"])
def bootloader(facts, params) -> Result:
    """The boot loader configuration (doc: /etc/grub.conf) is immutable."""
    attrs = facts["critical_file_attrs"]
    for path in BOOTLOADER_FILES:
        if attrs[path]["exists"]:
            return _immutable(attrs[path], facts.mode)
    return without_config(facts["boot_stack"], BOOTLOADER_FILES)
