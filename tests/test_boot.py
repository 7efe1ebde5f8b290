from support import evidence_lines, run_check

from hostaudit.model import Status

MD5 = "$1$kGdBe0$Zq9yd6j5vqWpxJ/y6MdcX0"
PBKDF2 = "grub.pbkdf2.sha512.10000.AB12CD.EF34"
RHEL_01_USERS = """\
if [ -f ${prefix}/user.cfg ]; then
  source ${prefix}/user.cfg
  if [ -n "${GRUB2_PASSWORD}" ]; then
    set superusers="root"
    export superusers
    password_pbkdf2 root ${GRUB2_PASSWORD}
  fi
fi
"""



def test_legacy_md5_password_via_etc_grub_conf_link_passes_without_hash(tmp_root):
    tmp_root.write("/boot/grub/grub.conf", f"default=0\ntimeout=10\npassword --md5 {MD5}\n"
                   "title Red Hat Linux (2.4.18-3)\n")
    tmp_root.symlink("/etc/grub.conf", "../boot/grub/grub.conf")
    result = run_check("boot.loader-password", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/etc/grub.conf (-> /boot/grub/grub.conf):3: "
                              "password --md5 <hash hidden>"]
    assert MD5 not in str(result)


def test_legacy_config_without_password_fails(tmp_root):
    tmp_root.write("/boot/grub/grub.conf", "default=0\ntitle Red Hat Linux\n")
    result = run_check("boot.loader-password", root=tmp_root)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/boot/grub/grub.conf: no password directive"]


def test_legacy_plaintext_password_fails_and_is_not_shown(tmp_root):
    tmp_root.write("/boot/grub/menu.lst", "password s3cret\ntitle Debian\n")
    result = run_check("boot.loader-password", root=tmp_root)
    assert result.status is Status.FAIL
    assert "plaintext" in result.message
    assert "s3cret" not in str(result) and "<password hidden>" in evidence_lines(result)[0]


def test_grub2_superuser_with_pbkdf2_password_passes(tmp_root):
    tmp_root.write("/etc/grub.d/40_custom", "#!/bin/sh\nexec tail -n +3 $0\n"
                   f'set superusers="admin"\npassword_pbkdf2 admin {PBKDF2}\n', mode=0o755)
    tmp_root.write("/boot/grub/grub.cfg", "menuentry 'Debian' {\n}\n")
    result = run_check("boot.loader-password", root=tmp_root)
    assert result.status is Status.PASS
    assert "/etc/grub.d/40_custom:4: password_pbkdf2 admin <hash hidden>" in evidence_lines(result)
    assert PBKDF2 not in str(result)


def test_grub_d_script_that_is_not_executable_is_never_run_and_fails(tmp_root):
    # grub-mkconfig runs only the executable files of /etc/grub.d: this password never reaches grub.cfg.
    tmp_root.write("/etc/grub.d/40_custom", "#!/bin/sh\nexec tail -n +3 $0\n"
                   f'set superusers="admin"\npassword_pbkdf2 admin {PBKDF2}\n', mode=0o644)
    tmp_root.write("/boot/grub/grub.cfg", "menuentry 'Debian' {\n}\n")
    result = run_check("boot.loader-password", root=tmp_root)
    assert result.status is Status.FAIL
    assert PBKDF2 not in str(result)


def test_grub_d_backup_file_is_never_run_and_fails(tmp_root):
    tmp_root.write("/etc/grub.d/40_custom.dpkg-old", "#!/bin/sh\nexec tail -n +3 $0\n"
                   f'set superusers="admin"\npassword_pbkdf2 admin {PBKDF2}\n', mode=0o755)
    tmp_root.write("/boot/grub/grub.cfg", "menuentry 'Debian' {\n}\n")
    assert run_check("boot.loader-password", root=tmp_root).status is Status.FAIL


def test_grub2_plaintext_password_fails_without_printing_it(tmp_root):
    tmp_root.write("/boot/grub/grub.cfg", 'set superusers="root"\npassword root hunter2\n')
    result = run_check("boot.loader-password", root=tmp_root)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/boot/grub/grub.cfg:2: password root <password hidden>"]
    assert "hunter2" not in str(result)


def test_grub2_superusers_without_password_fails(tmp_root):
    tmp_root.write("/boot/grub2/grub.cfg", 'set superusers="root"\n')
    result = run_check("boot.loader-password", root=tmp_root)
    assert result.status is Status.FAIL
    assert "none has a password_pbkdf2" in evidence_lines(result)[0]


def test_grub2_password_for_non_superuser_fails(tmp_root):
    tmp_root.write("/boot/grub/grub.cfg", f"password_pbkdf2 bob {PBKDF2}\n")
    result = run_check("boot.loader-password", root=tmp_root)
    assert result.status is Status.FAIL
    assert "not superusers" in evidence_lines(result)[0]


def test_rhel_01_users_boilerplate_without_user_cfg_fails(tmp_root):
    tmp_root.write("/boot/grub2/grub.cfg", "### BEGIN /etc/grub.d/01_users ###\n" + RHEL_01_USERS)
    result = run_check("boot.loader-password", root=tmp_root)
    assert result.status is Status.FAIL
    assert any("variable that is never set" in t for t in evidence_lines(result))


def test_rhel_user_cfg_password_passes(tmp_root):
    tmp_root.write("/boot/grub2/grub.cfg", RHEL_01_USERS)
    tmp_root.write("/boot/grub2/user.cfg", f"GRUB2_PASSWORD={PBKDF2}\n", mode=0o600)
    result = run_check("boot.loader-password", root=tmp_root)
    assert result.status is Status.PASS
    assert "/boot/grub2/user.cfg:1: GRUB2_PASSWORD=<hash hidden>" in evidence_lines(result)
    assert PBKDF2 not in str(result)


def test_no_boot_loader_config_is_an_error_naming_where_it_looked(tmp_root):
    tmp_root.write("/etc/hostname", "container\n")
    result = run_check("boot.loader-password", root=tmp_root)
    assert result.status is Status.ERROR
    assert "/etc/grub.conf" in result.message and "/boot/grub2/grub.cfg" in result.message


def test_no_boot_loader_or_kernel_installed_is_not_applicable(tmp_root):
    tmp_root.installed("bash", "linux-headers-6.1.0-18-amd64", "kernel-headers")
    tmp_root.mkdir("/boot/lost+found")
    result = run_check("boot.loader-password", root=tmp_root)
    assert result.status is Status.NOT_APPLICABLE
    assert "no boot loader or kernel is installed" in result.message
    assert evidence_lines(result)[1] == "/boot: empty"


def test_grub_package_without_its_config_is_an_error_naming_the_package(tmp_root):
    tmp_root.installed("bash", "grub-efi-amd64", version="2.06-13")
    result = run_check("boot.loader-password", root=tmp_root)
    assert result.status is Status.ERROR
    assert evidence_lines(result) == ["/var/lib/dpkg/status:5: package grub-efi-amd64 2.06-13"]


def test_kernel_in_boot_without_a_package_is_an_error(tmp_root):
    tmp_root.installed("bash")
    tmp_root.write("/boot/vmlinuz-6.1.0-18-amd64", "kernel")
    result = run_check("boot.loader-password", root=tmp_root)
    assert result.status is Status.ERROR
    assert evidence_lines(result) == ["/boot: holds vmlinuz-6.1.0-18-amd64"]
