"""boot: the boot loader asks for a password before anyone edits or boots other entries."""

from __future__ import annotations

from hostaudit.model import Result, ev
from hostaudit.probes.boot import BOOT_DIR
from hostaudit.registry import check

EXPECTED = ("GRUB legacy: a global `password --md5`; GRUB 2: `set superusers` plus "
            "`password_pbkdf2` for a superuser (or GRUB2_PASSWORD in user.cfg)")


def _where(file: dict) -> str:
    return f"{file['path']} (-> {file['target']})" if file["target"] else file["path"]


def _classify(files: list[dict]) -> tuple[list, list, list]:
    """Sort every directive into good (protects), bad (plaintext) and notes (no effect)."""
    good, bad, notes = [], [], []
    superusers, passwords = [], []
    user_cfg = any(d["directive"] == "GRUB2_PASSWORD" and d["secret"] == "pbkdf2"
                   for f in files for d in f["directives"])
    for file in files:
        for d in file["directives"]:
            found = ev(_where(file), d["text"], d["line"])
            secret = d.get("secret")
            if secret == "plain":
                bad.append(found)
            elif d["directive"] == "password" and file["format"] == "legacy":
                if secret in ("md5", "encrypted") and not d["in_entry"]:
                    good.append(found)
                else:
                    notes.append((found, "locks one menu entry only" if d["in_entry"]
                                  else "no usable secret"))
            elif d["directive"] == "GRUB2_PASSWORD":
                # RHEL's /etc/grub.d/01_users makes root a superuser with this hash.
                if secret == "pbkdf2":
                    good.append(found)
                else:
                    notes.append((found, "not a grub.pbkdf2 hash"))
            elif d["directive"] == "superusers":
                if d["users"]:
                    superusers.append(found)
                else:
                    notes.append((found, "empty superusers list"))
            elif d["directive"] == "password_pbkdf2":
                if secret == "pbkdf2" or (secret == "variable" and user_cfg
                                          and d["variable"] == "GRUB2_PASSWORD"):
                    passwords.append((found, d["user"]))
                else:
                    notes.append((found, "the hash comes from a variable that is never set"
                                  if secret == "variable" else "no hash given"))
    admins = {u for f in files for d in f["directives"] if d["directive"] == "superusers"
              for u in d.get("users", [])}
    protecting = [found for found, user in passwords if user in admins]
    if superusers and protecting:
        good += superusers + protecting
    elif superusers:
        notes += [(s, "superusers set but none has a password_pbkdf2") for s in superusers]
    notes += [(found, "GRUB 2 ignores passwords of users who are not superusers")
              for found, user in passwords if user not in admins]
    return good, bad, notes


def without_config(stack: dict, looked_in) -> Result:
    """The verdict when no boot loader configuration exists: not applicable where nothing
    on the host could boot it (no loader or kernel package, an empty /boot: a container, or
    a VM whose hypervisor loads the kernel), else an error naming what is there."""
    looked = "looked in " + ", ".join(looked_in)
    boot_dir = stack["boot_dir"]
    if stack["packages_error"]:
        return Result.error(f"no boot loader configuration found ({looked}), and the package database "
                            f"cannot tell whether one is installed: {stack['packages_error']}")
    evidence = [ev(p["source"], f"package {p['name']} {p['version']}", p["line"]) for p in stack["packages"]]
    if boot_dir:
        evidence.append(ev(BOOT_DIR, "holds " + ", ".join(sorted(boot_dir)[:10])
                           + (f" and {len(boot_dir) - 10} more" if len(boot_dir) > 10 else "")))
    if evidence:
        return Result.error(f"no boot loader configuration found ({looked}), though the host has a boot "
                            "loader or kernel", evidence=evidence)
    return Result.not_applicable(
        "no boot loader or kernel is installed (a container, or a VM booted by its hypervisor): there is "
        "no boot loader to protect",
        evidence=[ev(", ".join(stack["databases"]) or "package database",
                     "no package matching " + " ".join(stack["patterns"])),
                  ev(BOOT_DIR, "empty" if boot_dir is not None else "absent")])


@check("boot.loader-password", needs=["bootloader", "boot_stack"])
def loader_password(facts, params) -> Result:
    """The boot loader is password-protected with a hashed password."""
    boot = facts["bootloader"]
    if not boot["files"]:
        return without_config(facts["boot_stack"], boot["looked_in"])
    good, bad, notes = _classify(boot["files"])
    if bad:
        return Result.failed("the boot loader password is stored in plaintext",
                             evidence=bad, expected=EXPECTED)
    if good:
        return Result.passed("the boot loader asks for a hashed password",
                             evidence=good, expected=EXPECTED)
    evidence = [ev(found.where, f"{found.text} ({why})", found.line) for found, why in notes]
    evidence += [ev(_where(f), "no password directive") for f in boot["files"]
                 if not f["directives"]]
    return Result.failed("no boot loader password is in effect", evidence=evidence,
                         expected=EXPECTED)
