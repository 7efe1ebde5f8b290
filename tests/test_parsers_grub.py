from hostaudit.parsers.grub import parse_grub2, parse_grub_legacy

MD5 = "$1$kGdBe0$Zq9yd6j5vqWpxJ/y6MdcX0"
PBKDF2 = "grub.pbkdf2.sha512.10000.AB12CD.EF34"


def test_legacy_md5_password_is_kept_without_hash():
    (found,) = parse_grub_legacy(f"default=0\npassword --md5 {MD5}\ntitle Red Hat\n")
    assert found == {"directive": "password", "secret": "md5", "in_entry": False,
                     "text": "password --md5 <hash hidden>", "line": 2}


def test_legacy_plain_password_inside_entry_is_hidden():
    (found,) = parse_grub_legacy("title Linux\n  password s3cret\n")
    assert found["secret"] == "plain" and found["in_entry"] is True
    assert "s3cret" not in found["text"]


def test_legacy_commented_password_is_ignored():
    assert parse_grub_legacy(f"#password --md5 {MD5}\n") == []


def test_grub2_superusers_and_pbkdf2_without_hash():
    found = parse_grub2(f'set superusers="root admin"\npassword_pbkdf2 root {PBKDF2}\n')
    assert found[0]["users"] == ["root", "admin"]
    assert found[1]["secret"] == "pbkdf2"
    assert found[1]["text"] == "password_pbkdf2 root <hash hidden>"
    assert PBKDF2 not in str(found)


def test_grub2_plain_password_is_hidden():
    (found,) = parse_grub2("password root hunter2\n")
    assert found["secret"] == "plain" and "hunter2" not in str(found)


def test_grub2_hash_from_variable_is_named():
    (found,) = parse_grub2("    password_pbkdf2 root ${GRUB2_PASSWORD}\n")
    assert found["secret"] == "variable" and found["variable"] == "GRUB2_PASSWORD"


def test_user_cfg_password_is_recognised_and_hidden():
    (found,) = parse_grub2(f"GRUB2_PASSWORD={PBKDF2}\n")
    assert found["directive"] == "GRUB2_PASSWORD" and found["secret"] == "pbkdf2"
    assert PBKDF2 not in found["text"]


def test_grub2_password_without_user_is_empty_not_a_crash():
    (found,) = parse_grub2("password_pbkdf2\n")
    assert found["secret"] == "empty" and found["user"] is None
