from hostaudit.parsers.shadow import hash_scheme, parse_shadow

SHA512 = "$6$Qx3rTz9k$3E1cBqkqzXo2mN7yq1v8ZPzQmM0c5l2rYy9mG7vJ0yHn7Q1k5bR2oHq8l4xF6c1Q3r8uVw2sK9aL0pD5eT7u1"


def test_prefixes_name_their_schemes():
    assert hash_scheme("$1$abcdefgh$0123456789abcdefghijkl") == "md5"
    assert hash_scheme("$5$salt$hash") == "sha256"
    assert hash_scheme(SHA512) == "sha512"
    assert hash_scheme("$y$j9T$salt$hash") == "yescrypt"
    assert hash_scheme("$gy$j9T$salt$hash") == "gost-yescrypt"
    assert hash_scheme("$2b$12$abcdefghijklmnopqrstuv") == "bcrypt"
    assert hash_scheme("$7$CU..../....salt$hash") == "scrypt"


def test_thirteen_crypt_characters_are_des():
    assert hash_scheme("abJnggxhB/yWI") == "des"


def test_empty_and_locked_fields():
    assert hash_scheme("") == "empty"
    assert hash_scheme("!") == "locked"
    assert hash_scheme("*") == "locked"
    assert hash_scheme("!" + SHA512) == "locked"


def test_unrecognised_field_is_unknown_not_strong():
    assert hash_scheme("NP") == "unknown"


def test_parse_keeps_name_scheme_and_line_only():
    entries = parse_shadow(f"root:{SHA512}:19000:0:99999:7:::\n\ndaemon:*:19000::::::\n")
    assert entries == [
        {"name": "root", "scheme": "sha512", "line": 1},
        {"name": "daemon", "scheme": "locked", "line": 3},
    ]
    assert "Qx3rTz9k" not in repr(entries)


def test_line_without_password_field_is_malformed():
    assert parse_shadow("garbage\n") == [{"name": "garbage", "line": 1, "malformed": True}]


def test_line_with_a_nul_byte_is_malformed():
    assert parse_shadow("root::19000:0:99999:7:::\0\n") == [{"name": "", "line": 1, "malformed": True}]


def test_expiration_day_is_kept_when_set():
    assert parse_shadow("tony:*:19000:0:99999:7::1:\nann:*:19000:0:99999:7:::\n") == [
        {"name": "tony", "scheme": "locked", "line": 1, "expires": 1},
        {"name": "ann", "scheme": "locked", "line": 2}]


def test_ageing_that_can_lock_the_account_is_kept_only_when_all_three_fields_are_set():
    entries = parse_shadow("tony:*:19000:0:90:7:30::\nann:*:19000:0:99999:7:::\n")
    assert entries[0]["ageing"] == {"last_change": 19000, "max_days": 90, "inactive_days": 30}
    assert "ageing" not in entries[1]
