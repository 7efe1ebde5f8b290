from hostaudit.parsers.os_release import parse_os_release


def test_quoted_and_bare_values_are_read():
    text = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n'
    assert parse_os_release(text) == {"pretty_name": "Debian GNU/Linux 12 (bookworm)",
                                      "name": "Debian GNU/Linux", "version_id": "12", "id": "debian"}


def test_comments_unknown_keys_and_garbage_are_ignored():
    text = "# a comment\nHOME_URL=\"https://x.invalid/\"\nnot a line\nNAME='Alpine Linux'\n"
    assert parse_os_release(text) == {"name": "Alpine Linux"}


def test_backslash_escapes_in_double_quotes_are_undone():
    assert parse_os_release('NAME="say \\"hi\\""\n') == {"name": 'say "hi"'}


def test_hostile_values_are_bounded_and_lose_control_characters():
    parsed = parse_os_release('NAME="' + "A" * 5000 + '"\nVERSION="1\x1b[31m2"\n')
    assert parsed["name"] == "A" * 200
    assert parsed["version"] == "1[31m2"
