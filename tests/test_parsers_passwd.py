"""passwd, group and login.defs parsing; password fields are reduced to their kind."""

from hostaudit.parsers.passwd import parse_group, parse_login_defs, parse_passwd, password_field_kind


def test_password_field_kinds():
    assert [password_field_kind(f) for f in ("x", "", "!", "*", "$6$salt$hash")] == [
        "shadowed", "empty", "locked", "locked", "hash"]


def test_passwd_user_fields_and_line():
    [user] = parse_passwd("# comment\nqmaild:x:1001:1002::/var/qmail:/bin/false\n")
    assert user == {"name": "qmaild", "password": "shadowed", "uid": 1001, "gid": 1002, "gecos": "",
                    "home": "/var/qmail", "shell": "/bin/false", "line": 2}


def test_passwd_never_keeps_a_hash_stored_in_place():
    [user] = parse_passwd("old:$1$abcdefgh$0123456789abcdefghij:1001:1001::/home/old:/bin/sh\n")
    assert user["password"] == "hash"
    assert "$1$" not in repr(user)


def test_passwd_malformed_line_is_marked_not_dropped():
    users = parse_passwd("broken:x:notanumber:0::/:/bin/sh\nshort:x:1\n")
    assert [u.get("malformed") for u in users] == [True, True]
    assert [u["line"] for u in users] == [1, 2]


def test_group_members_are_split():
    [wheel] = parse_group("wheel:x:10:root,tony\n")
    assert wheel == {"name": "wheel", "gid": 10, "members": ["root", "tony"], "line": 1}


def test_login_defs_later_lines_win():
    settings = parse_login_defs("UID_MIN 500\n# UID_MIN 2000\nUID_MIN\t1000\n")
    assert settings["UID_MIN"] == {"value": "1000", "line": 3}


def test_passwd_line_with_a_nul_byte_is_malformed():
    users = parse_passwd("root:x:0:0:root:/root:/bin/bash\0\0\0\n")
    assert users == [{"name": "", "line": 1, "malformed": True}]


def test_group_line_of_binary_garbage_is_malformed():
    groups = parse_group("root:x:0:\n\x7fELF\x02\x01\x01\n")
    assert [g.get("malformed", False) for g in groups] == [False, True]


def test_only_newline_ends_an_entry_so_line_numbers_match_the_file():
    # str.splitlines would split at the form feed and count the second user as line 3.
    users = parse_passwd("a:x:1:1:gecos\fmore:/home/a:/bin/sh\nb:x:2:2::/home/b:/bin/sh\n")
    assert [(u["line"], u.get("malformed", False)) for u in users] == [(1, True), (2, False)]


def test_gecos_bytes_that_are_not_utf8_are_kept_surrogate_escaped():
    text = b"tony:x:1000:1000:Ren\xe9:/home/tony:/bin/sh\n".decode("utf-8", "surrogateescape")
    [user] = parse_passwd(text)
    assert user["gecos"].encode("utf-8", "surrogateescape") == b"Ren\xe9"
