from hostaudit.parsers.openssh_version import parse_version, version_in_binary


def test_debian_and_rpm_package_versions_parse_to_upstream():
    assert parse_version("1:9.2p1-2+deb12u3") == (9, 2, 1)
    assert parse_version("8.7p1-38.el9") == (8, 7, 1)
    assert parse_version("3.4") == (3, 4, 0)


def test_text_without_a_version_gives_none():
    assert parse_version("unknown") is None


def test_binary_version_ignores_the_compat_table_patterns():
    blob = b"\x00OpenSSH_2.*,OpenSSH_3.0*,OpenSSH_3.1*\x00OpenSSH_6.6.1*\x00OpenSSH_9.2\x00OpenSSH_9.2p1 Debian-2\x00"
    assert version_in_binary(blob) == "9.2p1"


def test_binary_without_version_string_gives_none():
    assert version_in_binary(b"\x7fELF\x00OpenSSH_7.0*\x00") is None
