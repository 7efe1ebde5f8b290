import json

from support import collect_fact, evidence_lines, run_check

from hostaudit.model import Status

WHEEL = {"wheel_group": "wheel"}
SU_RH73 = """#%PAM-1.0
auth       sufficient   /lib/security/pam_rootok.so
# Uncomment the following line to implicitly trust users in the "wheel" group.
#auth       sufficient   /lib/security/pam_wheel.so trust use_uid
# Uncomment the following line to require a user to be in the "wheel" group.
#auth       required     /lib/security/pam_wheel.so use_uid
auth       required     /lib/security/pam_stack.so service=system-auth
"""
SU_DEBIAN = """auth       sufficient pam_rootok.so
# auth       required   pam_wheel.so
auth       required   pam_wheel.so use_uid
@include common-auth
"""
SHA512_ROOT = ("$6$Xk2pLq9RvT4mWz1a$O4nHq8vZp2Yk3sLx7cQ1mD9fR6tB0wJ5eU8iG3hA2zN4yK7"
               "pV1sX6cE9bT0rL5qM8wF3jH2gD7uY4iO1aS6dZ.")
YESCRYPT_TONY = "$y$j9T$Hm3Pq7Zs0vNc2Lk8Rw5Et/$Tz4Yb1Uo6Ix9Ca3Vn7Mf2Qd8Gh5Jk0Lp4Ws1Er6Ty9"
MD5_ANN = "$1$aB3dE5gH$Qw9Er7Ty5Ui3Op1As2Df4."
DES_BOB = "abJnggxhB/yWI"
SHADOW = (f"root:{SHA512_ROOT}:19700:0:99999:7:::\n"
          "daemon:*:19700:0:99999:7:::\n"
          f"tony:{YESCRYPT_TONY}:19700:0:99999:7:::\n"
          f"ann:{MD5_ANN}:19700:0:99999:7:::\n"
          f"bob:{DES_BOB}:19700:0:99999:7:::\n"
          "eve::19700:0:99999:7:::\n"
          "old:!$6$Zq1Wx2Ec3Rv4Tb5Y$locked.hash.stays.secret:19700::::::\n")
SALTS_AND_HASHES = ("Xk2pLq9RvT4mWz1a", "O4nHq8vZp2Yk3", "Hm3Pq7Zs0vNc2Lk8Rw5Et", "Tz4Yb1Uo6",
                    "aB3dE5gH", "Qw9Er7Ty5", DES_BOB, "Zq1Wx2Ec3Rv4Tb5Y", "locked.hash")



def test_su_wheel_redhat_default_commented_out_fails_naming_line(tmp_root):
    tmp_root.write("/etc/pam.d/su", SU_RH73)
    result = run_check("auth.su-wheel", root=tmp_root, params=WHEEL)
    assert result.status is Status.FAIL
    assert any(t.startswith("/etc/pam.d/su:6:") and t.endswith(": commented out") for t in evidence_lines(result))


def test_su_wheel_redhat_uncommented_full_path_passes(tmp_root):
    tmp_root.write("/etc/pam.d/su", SU_RH73.replace("#auth       required", "auth       required"))
    result = run_check("auth.su-wheel", root=tmp_root, params=WHEEL)
    assert result.status is Status.PASS
    assert [e.line for e in result.evidence] == [2, 6]


def test_su_wheel_debian_bare_module_name_passes(tmp_root):
    tmp_root.write("/etc/pam.d/su", SU_DEBIAN)
    result = run_check("auth.su-wheel", root=tmp_root, params=WHEEL)
    assert result.status is Status.PASS
    assert "/etc/pam.d/su:3: auth required pam_wheel.so use_uid" in evidence_lines(result)


def test_su_wheel_bracket_control_that_dies_passes(tmp_root):
    tmp_root.write("/etc/pam.d/su", "auth sufficient pam_rootok.so\n"
                   "auth [success=ok default=die] /lib/x86_64-linux-gnu/security/pam_wheel.so use_uid\n")
    assert run_check("auth.su-wheel", root=tmp_root, params=WHEEL).status is Status.PASS


def test_su_wheel_other_group_fails(tmp_root):
    tmp_root.write("/etc/pam.d/su", "auth sufficient pam_rootok.so\nauth required pam_wheel.so use_uid group=staff\n")
    result = run_check("auth.su-wheel", root=tmp_root, params=WHEEL)
    assert result.status is Status.FAIL
    assert "group=staff is not the wheel group wheel" in evidence_lines(result)[0]


def test_su_wheel_without_use_uid_fails(tmp_root):
    tmp_root.write("/etc/pam.d/su", "auth sufficient pam_rootok.so\nauth required pam_wheel.so\n")
    result = run_check("auth.su-wheel", root=tmp_root, params=WHEEL)
    assert result.status is Status.FAIL
    assert "use_uid missing" in evidence_lines(result)[0]


def test_su_wheel_missing_rootok_fails(tmp_root):
    tmp_root.write("/etc/pam.d/su", "auth required pam_wheel.so use_uid\n")
    result = run_check("auth.su-wheel", root=tmp_root, params=WHEEL)
    assert result.status is Status.FAIL
    assert "no uncommented 'auth sufficient pam_rootok.so'" in evidence_lines(result)[0]


def test_su_wheel_missing_pam_file_fails(tmp_root):
    tmp_root.mkdir("/etc/pam.d")
    result = run_check("auth.su-wheel", root=tmp_root, params=WHEEL)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/etc/pam.d/su: absent"]


def test_su_wheel_sufficient_module_before_pam_wheel_lets_others_in_and_fails(tmp_root):
    # PAM stops at a sufficient module that succeeds: whoever knows root's password never meets pam_wheel.
    tmp_root.write("/etc/pam.d/su", "auth sufficient pam_rootok.so\nauth sufficient pam_unix.so\n"
                                    "auth required pam_wheel.so use_uid\n")
    result = run_check("auth.su-wheel", root=tmp_root, params=WHEEL)
    assert result.status is Status.FAIL
    assert ("/etc/pam.d/su:2: auth sufficient pam_unix.so: ends the stack on success before pam_wheel "
            "(line 3) is reached") in evidence_lines(result)


def test_su_wheel_success_done_before_pam_wheel_fails(tmp_root):
    tmp_root.write("/etc/pam.d/su", "auth sufficient pam_rootok.so\n"
                                    "auth [success=done default=ignore] pam_succeed_if.so user = root\n"
                                    "auth required pam_wheel.so use_uid\n")
    result = run_check("auth.su-wheel", root=tmp_root, params=WHEEL)
    assert result.status is Status.FAIL
    assert any(t.startswith("/etc/pam.d/su:2: ") and "ends the stack on success before pam_wheel" in t
               for t in evidence_lines(result))


def test_su_wheel_jump_over_pam_wheel_fails(tmp_root):
    tmp_root.write("/etc/pam.d/su", "auth sufficient pam_rootok.so\n"
                                    "auth [success=1 default=ignore] pam_unix.so\n"
                                    "auth required pam_wheel.so use_uid\nauth required pam_permit.so\n")
    result = run_check("auth.su-wheel", root=tmp_root, params=WHEEL)
    assert result.status is Status.FAIL
    assert any(t.startswith("/etc/pam.d/su:2: ") and "skips pam_wheel" in t for t in evidence_lines(result))


def test_su_wheel_included_file_that_ends_the_stack_before_pam_wheel_fails(tmp_root):
    tmp_root.write("/etc/pam.d/su", "auth sufficient pam_rootok.so\n@include common-auth\n"
                                    "auth required pam_wheel.so use_uid\n")
    tmp_root.write("/etc/pam.d/common-auth", "auth [success=1 default=ignore] pam_unix.so nullok\n"
                                             "auth requisite pam_deny.so\nauth sufficient pam_permit.so\n")
    result = run_check("auth.su-wheel", root=tmp_root, params=WHEEL)
    assert result.status is Status.FAIL
    assert any(t.startswith("/etc/pam.d/common-auth:3: auth sufficient pam_permit.so: ends the stack")
               for t in evidence_lines(result))


def test_su_wheel_debian_common_auth_before_pam_wheel_passes(tmp_root):
    # common-auth's jump lands on pam_permit, still before pam_wheel: every caller meets the wheel test.
    tmp_root.write("/etc/pam.d/su", "auth sufficient pam_rootok.so\n@include common-auth\n"
                                    "auth required pam_wheel.so use_uid\n")
    tmp_root.write("/etc/pam.d/common-auth", "auth [success=1 default=ignore] pam_unix.so nullok\n"
                                             "auth requisite pam_deny.so\nauth required pam_permit.so\n")
    result = run_check("auth.su-wheel", root=tmp_root, params=WHEEL)
    assert result.status is Status.PASS


def test_shadow_in_use_with_debian_0640_passes(tmp_root):
    tmp_root.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
    tmp_root.write("/etc/shadow", "root:*:19700::::::\n", mode=0o640)
    result = run_check("auth.shadow", root=tmp_root)
    assert result.status is Status.PASS
    assert "mode 0640" in evidence_lines(result)[1]


def test_world_readable_shadow_fails(tmp_root):
    tmp_root.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
    tmp_root.write("/etc/shadow", "root:*:19700::::::\n", mode=0o644)
    result = run_check("auth.shadow", root=tmp_root)
    assert result.status is Status.FAIL
    assert "mode 0644" in evidence_lines(result)[0] and "wider than 0640" in evidence_lines(result)[0]


def test_shadow_owned_by_a_user_fails(tmp_root):
    # mode 0600 keeps others out, but the owner reads (and rewrites) every hash.
    tmp_root.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\ntony:x:1000:1000::/home/tony:/bin/bash\n")
    tmp_root.write("/etc/shadow", "root:*:19700::::::\n", mode=0o600, uid=1000, gid=0)
    result = run_check("auth.shadow", root=tmp_root)
    assert result.status is Status.FAIL
    assert "/etc/shadow: mode 0600 owner 1000:0: owned by uid 1000, not root" in evidence_lines(result)


def test_shadow_readable_by_a_group_other_than_shadow_fails(tmp_root):
    tmp_root.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
    tmp_root.write("/etc/group", "root:x:0:\nshadow:x:42:\nusers:x:100:\n")
    tmp_root.write("/etc/shadow", "root:*:19700::::::\n", mode=0o640, uid=0, gid=100)
    result = run_check("auth.shadow", root=tmp_root)
    assert result.status is Status.FAIL
    assert ("/etc/shadow: mode 0640 owner 0:100: readable by group users (gid 100), not root or shadow"
            in evidence_lines(result))


def test_shadow_readable_by_debians_shadow_group_passes(tmp_root):
    tmp_root.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
    tmp_root.write("/etc/group", "root:x:0:\nshadow:x:42:\n")
    tmp_root.write("/etc/shadow", "root:*:19700::::::\n", mode=0o640, uid=0, gid=42)
    assert run_check("auth.shadow", root=tmp_root).status is Status.PASS


def test_hash_in_passwd_fails_without_quoting_it(tmp_root):
    tmp_root.write("/etc/passwd", f"root:{DES_BOB}:0:0:root:/root:/bin/bash\n")
    tmp_root.write("/etc/shadow", "root:*:19700::::::\n", mode=0o600)
    result = run_check("auth.shadow", root=tmp_root)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/etc/passwd:1: user root: password field is hash, not 'x'"]


def test_missing_shadow_fails(tmp_root):
    tmp_root.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
    result = run_check("auth.shadow", root=tmp_root)
    assert result.status is Status.FAIL
    assert "/etc/shadow: absent" in evidence_lines(result)


def test_shadow_fact_keeps_schemes_never_hashes_or_salts(tmp_root):
    tmp_root.write("/etc/shadow", SHADOW, mode=0o600)
    fact = collect_fact("shadow", tmp_root)
    assert [(e["name"], e["scheme"]) for e in fact["entries"]] == [
        ("root", "sha512"), ("daemon", "locked"), ("tony", "yescrypt"), ("ann", "md5"),
        ("bob", "des"), ("eve", "empty"), ("old", "locked")]
    dumped = json.dumps(fact)
    assert not [s for s in SALTS_AND_HASHES if s in dumped]


def test_des_and_empty_passwords_fail_with_counts_and_no_hash_in_result(tmp_root):
    tmp_root.write("/etc/shadow", SHADOW, mode=0o600)
    result = run_check("auth.password-hashes", root=tmp_root)
    assert result.status is Status.FAIL
    texts = evidence_lines(result)
    assert texts[0] == ("/etc/shadow: des 1, md5 1, sha256 0, sha512 1, yescrypt 1, bcrypt 0, "
                        "empty 1, locked 2")
    assert texts[1:] == ["/etc/shadow:5: user bob: des password", "/etc/shadow:6: user eve: empty password"]
    everything = result.message + json.dumps([e.to_dict() for e in result.evidence]) + result.expected
    assert not [s for s in SALTS_AND_HASHES if s in everything]


def test_md5_and_stronger_hashes_pass(tmp_root):
    tmp_root.write("/etc/shadow", f"root:{SHA512_ROOT}:1::::::\nann:{MD5_ANN}:1::::::\nx:!:1::::::\n", mode=0o600)
    result = run_check("auth.password-hashes", root=tmp_root)
    assert result.status is Status.PASS
    assert "md5 1" in evidence_lines(result)[0] and "sha512 1" in evidence_lines(result)[0]


def test_unrecognised_hash_format_is_an_error(tmp_root):
    tmp_root.write("/etc/shadow", "root:NP:1::::::\n", mode=0o600)
    result = run_check("auth.password-hashes", root=tmp_root)
    assert result.status is Status.ERROR
    assert "/etc/shadow:1: user root: unrecognised hash format" in evidence_lines(result)



def test_nis_off_on_debian_passes(tmp_root):
    tmp_root.write("/etc/nsswitch.conf", "passwd: files systemd\nhosts: files dns\n")
    tmp_root.installed("bash")
    result = run_check("auth.nis-disabled", root=tmp_root)
    assert result.status is Status.PASS
    assert "/etc/nsswitch.conf: no nis service" in evidence_lines(result)


def test_nis_in_nsswitch_fails_with_line(tmp_root):
    tmp_root.write("/etc/nsswitch.conf", "passwd: files\nhosts: files nis dns\n")
    tmp_root.installed("bash")
    result = run_check("auth.nis-disabled", root=tmp_root)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/etc/nsswitch.conf:2: hosts: uses nis"]


def test_nis_package_installed_fails_with_stanza_line(tmp_root):
    tmp_root.write("/etc/nsswitch.conf", "passwd: files\n")
    tmp_root.installed("bash", "nis")
    result = run_check("auth.nis-disabled", root=tmp_root)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/var/lib/dpkg/status:5: package nis 1.0 installed"]


def test_ypbind_enabled_at_boot_fails(tmp_root):
    tmp_root.write("/etc/nsswitch.conf", "passwd: files\n")
    tmp_root.installed("bash")
    tmp_root.symlink("/etc/rc.d/rc3.d/S17ypbind", "../init.d/ypbind")
    result = run_check("auth.nis-disabled", root=tmp_root)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/etc/rc.d/rc3.d/S17ypbind: ypbind enabled at boot (-> ../init.d/ypbind)"]


def test_ypbind_wanted_by_systemd_target_fails(tmp_root):
    tmp_root.write("/etc/nsswitch.conf", "passwd: files\n")
    tmp_root.installed("bash")
    tmp_root.symlink("/etc/systemd/system/multi-user.target.wants/ypbind.service", "/lib/systemd/system/ypbind.service")
    result = run_check("auth.nis-disabled", root=tmp_root)
    assert result.status is Status.FAIL
    assert evidence_lines(result)[0].startswith("/etc/systemd/system/multi-user.target.wants/ypbind.service: ypbind enabled")
