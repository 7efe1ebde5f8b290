from support import evidence_lines, run_check

from hostaudit.model import Status

PASSWD_RH73 = """root:x:0:0:root:/root:/bin/bash
bin:x:1:1:bin:/bin:/sbin/nologin
adm:x:3:4:adm:/var/adm:/sbin/nologin
games:x:12:100:games:/usr/games:/sbin/nologin
nobody:x:99:99:Nobody:/:/sbin/nologin
"""
PASSWD_HARDENED = """root:x:0:0:root:/root:/bin/bash
bin:x:1:1:bin:/bin:/sbin/nologin
tony:x:500:500::/home/tony:/bin/bash
"""
GROUP_RH73 = "root:x:0:root\nwheel:x:10:root\nadm:x:4:root,adm,daemon\nfloppy:x:19:\n"
# A made-up sha512-crypt field: the check must name its scheme and never copy it.
FAKE_HASH = "$6$saltsalt$" + "A" * 86


def _admin_root(root, *, tony_password=FAKE_HASH, wheel="tony"):
    """The document's tony (uid 500, Red Hat's UID_MIN), with a password and in wheel."""
    root.write("/etc/passwd", PASSWD_HARDENED)
    root.write("/etc/login.defs", "UID_MIN\t\t\t  500\n")
    root.write("/etc/group", f"root:x:0:root\nwheel:x:10:root,{wheel}\ntony:x:500:\n")
    root.write("/etc/shadow", f"root:*:19000:0:99999:7:::\nbin:*:19000::::::\ntony:{tony_password}:19000:0:99999:7:::\n",
               mode=0o640)



def test_removed_user_still_present_fails_with_passwd_line(tmp_root):
    tmp_root.write("/etc/passwd", PASSWD_RH73)
    result = run_check("accounts.removed-users", root=tmp_root, params={"removed_users": ["adm", "games", "lp"]})
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/etc/passwd:3: user adm present", "/etc/passwd:4: user games present"]


def test_removed_users_absent_passes(tmp_root):
    tmp_root.write("/etc/passwd", PASSWD_HARDENED)
    result = run_check("accounts.removed-users", root=tmp_root, params={"removed_users": ["adm", "games"]})
    assert result.status is Status.PASS


def test_removed_group_still_present_fails(tmp_root):
    tmp_root.write("/etc/group", GROUP_RH73)
    result = run_check("accounts.removed-groups", root=tmp_root, params={"removed_groups": ["adm", "floppy", "dip"]})
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/etc/group:3: group adm present", "/etc/group:4: group floppy present"]


def test_removed_groups_absent_passes(tmp_root):
    tmp_root.write("/etc/group", "root:x:0:\nwheel:x:10:tony\n")
    result = run_check("accounts.removed-groups", root=tmp_root, params={"removed_groups": ["adm", "floppy"]})
    assert result.status is Status.PASS


def test_admin_user_with_redhat_uid_min_500_passes(tmp_root):
    _admin_root(tmp_root)
    result = run_check("accounts.admin-user", root=tmp_root)
    assert result.status is Status.PASS
    assert ("/etc/passwd:3: tony uid 500 shell /bin/bash; logs in with: sha512 password (/etc/shadow:3); in wheel"
            in evidence_lines(result))
    assert not any("$6$" in line for line in evidence_lines(result))


def test_admin_user_locked_service_account_fails(tmp_root):
    _admin_root(tmp_root, tony_password="!")
    result = run_check("accounts.admin-user", root=tmp_root)
    assert result.status is Status.FAIL
    assert ("/etc/passwd:3: tony uid 500 shell /bin/bash: does not count: cannot log in (password locked, "
            "no authorized_keys in /home/tony)") in evidence_lines(result)


def test_admin_user_locked_password_with_an_authorized_key_passes(tmp_root):
    _admin_root(tmp_root, tony_password="!" + FAKE_HASH)
    tmp_root.write("/home/tony/.ssh/authorized_keys", "ssh-ed25519 AAAAC3Nza... tony@laptop\n", mode=0o600)
    result = run_check("accounts.admin-user", root=tmp_root)
    assert result.status is Status.PASS
    assert ("/etc/passwd:3: tony uid 500 shell /bin/bash; logs in with: key file /home/tony/.ssh/authorized_keys; "
            "in wheel") in evidence_lines(result)
    assert not any("AAAA" in line or "$6$" in line for line in evidence_lines(result))


def test_admin_user_outside_the_su_group_fails(tmp_root):
    _admin_root(tmp_root, wheel="")
    result = run_check("accounts.admin-user", root=tmp_root)
    assert result.status is Status.FAIL
    assert "/etc/passwd:3: tony uid 500 shell /bin/bash: does not count: not in wheel" in evidence_lines(result)


def test_admin_user_su_group_comes_from_the_baselines_wheel_group(tmp_root):
    _admin_root(tmp_root, wheel="")
    tmp_root.write("/etc/group", "root:x:0:\nwheel:x:10:\nsudo:x:27:tony\n")
    assert run_check("accounts.admin-user", root=tmp_root, params={"wheel_group": "sudo"}).status is Status.PASS


def test_admin_user_whose_account_has_expired_cannot_log_in_and_fails(tmp_root):
    # shadow(5) field 8: pam_unix refuses an account past its expiration day, password or key.
    _admin_root(tmp_root)
    tmp_root.write("/etc/shadow", f"root:*:19000:0:99999:7:::\ntony:{FAKE_HASH}:19000:0:99999:7::1:\n", mode=0o640)
    tmp_root.write("/home/tony/.ssh/authorized_keys", "ssh-ed25519 AAAAC3Nza tony@laptop\n")
    result = run_check("accounts.admin-user", root=tmp_root)
    assert result.status is Status.FAIL
    assert ("/etc/passwd:3: tony uid 500 shell /bin/bash: does not count: cannot log in (account expired on "
            "1970-01-02 (/etc/shadow:2))" in evidence_lines(result))


def test_admin_user_whose_password_aged_past_its_inactive_days_cannot_log_in_and_fails(tmp_root):
    # last change day 19000 (2022-01-08), max 90, inactive 30: pam_unix locks the account from day 19121.
    _admin_root(tmp_root)
    tmp_root.write("/etc/shadow", f"root:*:19000:0:99999:7:::\ntony:{FAKE_HASH}:19000:0:90:7:30::\n", mode=0o640)
    result = run_check("accounts.admin-user", root=tmp_root)
    assert result.status is Status.FAIL
    assert ("/etc/passwd:3: tony uid 500 shell /bin/bash: does not count: cannot log in (password aged out: "
            "the account is inactive since 2022-05-08 (/etc/shadow:2))" in evidence_lines(result))


def test_admin_user_whose_expiry_is_in_the_future_passes(tmp_root):
    _admin_root(tmp_root)
    tmp_root.write("/etc/shadow", f"root:*:19000:0:99999:7:::\ntony:{FAKE_HASH}:19000:0:99999:7::99999:\n", mode=0o640)
    assert run_check("accounts.admin-user", root=tmp_root).status is Status.PASS


def test_admin_user_unreadable_shadow_is_an_error():
    facts = {"passwd": {"path": "/etc/passwd", "users": [
                 {"name": "tony", "password": "shadowed", "uid": 1000, "gid": 1000, "home": "/home/tony",
                  "shell": "/bin/bash", "line": 3}]},
             "login_defs": {"path": "/etc/login.defs", "present": False, "settings": {}},
             "login_shells": {"path": "/etc/shells", "present": False, "shells": []},
             "shadow": {"path": "/etc/shadow", "present": True, "readable": False, "read_error": "Permission denied",
                        "entries": []},
             "group": {"path": "/etc/group", "groups": [{"name": "wheel", "gid": 10, "members": ["tony"], "line": 2}]},
             "authorized_keys": {"files": {}, "unreadable": {}, "truncated": False}}
    result = run_check("accounts.admin-user", facts=facts, mode="live")
    assert result.status is Status.ERROR
    assert "cannot read /etc/shadow" in result.message


def test_admin_user_below_debian_default_uid_min_fails_and_says_default(tmp_root):
    _admin_root(tmp_root)
    tmp_root.write("/etc/login.defs", "")
    result = run_check("accounts.admin-user", root=tmp_root)
    assert result.status is Status.FAIL
    assert "using the default UID_MIN 1000" in evidence_lines(result)[0]


def test_admin_user_nobody_and_nologin_do_not_count(tmp_root):
    tmp_root.write("/etc/passwd", "nobody:x:65534:65534::/nonexistent:/bin/bash\n"
                                  "svc:x:1001:1001::/srv:/usr/sbin/nologin\n")
    tmp_root.write("/etc/login.defs", "UID_MIN 1000\n")
    tmp_root.write("/etc/group", "wheel:x:10:nobody,svc\n")
    tmp_root.write("/etc/shadow", f"nobody:{FAKE_HASH}::::::\nsvc:{FAKE_HASH}::::::\n")
    assert run_check("accounts.admin-user", root=tmp_root).status is Status.FAIL


def test_admin_user_shell_missing_from_etc_shells_does_not_count(tmp_root):
    tmp_root.write("/etc/passwd", "ann:x:1000:1000::/home/ann:/usr/local/bin/weird\n")
    tmp_root.write("/etc/group", "wheel:x:10:ann\n")
    tmp_root.write("/etc/shadow", f"ann:{FAKE_HASH}::::::\n")
    tmp_root.write("/etc/shells", "/bin/sh\n/bin/bash\n")
    assert run_check("accounts.admin-user", root=tmp_root).status is Status.FAIL
    tmp_root.write("/etc/shells", "/bin/sh\n/bin/bash\n/usr/local/bin/weird\n")
    assert run_check("accounts.admin-user", root=tmp_root).status is Status.PASS


def test_wheel_with_only_root_fails_naming_why(tmp_root):
    tmp_root.write("/etc/passwd", PASSWD_HARDENED)
    tmp_root.write("/etc/group", GROUP_RH73)
    tmp_root.write("/etc/login.defs", "UID_MIN 500\n")
    result = run_check("accounts.wheel", root=tmp_root, params={"wheel_group": "wheel"})
    assert result.status is Status.FAIL
    assert "/etc/group:2: member root does not count: uid 0 < UID_MIN 500" in evidence_lines(result)


def test_wheel_with_tony_added_passes(tmp_root):
    tmp_root.write("/etc/passwd", PASSWD_HARDENED)
    tmp_root.write("/etc/group", "root:x:0:root\nwheel:x:10:root,tony\n")
    tmp_root.write("/etc/login.defs", "UID_MIN 500\n")
    result = run_check("accounts.wheel", root=tmp_root, params={"wheel_group": "wheel"})
    assert result.status is Status.PASS
    assert "tony" in result.message


def test_wheel_member_by_primary_gid_counts(tmp_root):
    tmp_root.write("/etc/passwd", "ann:x:1000:10::/home/ann:/bin/bash\n")
    tmp_root.write("/etc/group", "wheel:x:10:\n")
    result = run_check("accounts.wheel", root=tmp_root, params={"wheel_group": "wheel"})
    assert result.status is Status.PASS


def test_wheel_member_missing_from_passwd_fails(tmp_root):
    tmp_root.write("/etc/passwd", PASSWD_HARDENED)
    tmp_root.write("/etc/group", "wheel:x:10:ghost\n")
    result = run_check("accounts.wheel", root=tmp_root, params={"wheel_group": "wheel"})
    assert result.status is Status.FAIL
    assert "member ghost does not count: not in /etc/passwd" in evidence_lines(result)[1]


def test_missing_wheel_group_on_debian_fails(tmp_root):
    tmp_root.write("/etc/passwd", PASSWD_HARDENED)
    tmp_root.write("/etc/group", "root:x:0:\nsudo:x:27:tony\n")
    result = run_check("accounts.wheel", root=tmp_root, params={"wheel_group": "wheel"})
    assert result.status is Status.FAIL
    assert result.message == "group wheel does not exist"
