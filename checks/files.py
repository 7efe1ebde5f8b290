"""files: the boot loader configuration carries the immutable attribute (``chattr +i``).

The account files' controls (files.immutable.passwd...) are data: generic ``kind: file``
controls with ``immutable: true`` (checks/kinds/file.py). The boot loader's stays Python:
which of several places holds the configuration, and what it means that none does, is
specific logic.
"""

from __future__ import annotations

from hostaudit.checks.boot import without_config
from hostaudit.checks.kinds.file import immutable_result
from hostaudit.registry import check

BOOTLOADER_FILES = ("/etc/grub.conf", "/boot/grub/grub.conf",
                    "/boot/grub/grub.cfg", "/boot/grub2/grub.cfg")


@check("files.immutable.bootloader", needs=["file_attrs", "boot_stack"],
       wants={"file_attrs": lambda params: {"paths": list(BOOTLOADER_FILES)}})
def bootloader(facts, params):
    """The boot loader configuration (doc: /etc/grub.conf) is immutable."""
    attrs = facts["file_attrs"]
    for path in BOOTLOADER_FILES:
        if attrs[path]["exists"]:
            return immutable_result(attrs[path], facts.mode)
    return without_config(facts["boot_stack"], BOOTLOADER_FILES)
