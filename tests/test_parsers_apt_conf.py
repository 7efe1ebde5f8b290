import pytest

from hostaudit.parsers.apt_conf import parse_apt_conf


def test_flat_periodic_settings_with_lines():
    settings = parse_apt_conf('APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n')
    assert settings["apt::periodic::unattended-upgrade"] == {
        "key": "APT::Periodic::Unattended-Upgrade", "value": "1", "line": 2}


def test_nested_scopes_build_the_full_key():
    settings = parse_apt_conf('APT {\n  Periodic {\n    Unattended-Upgrade "1";\n  };\n};\n')
    assert settings["apt::periodic::unattended-upgrade"]["line"] == 3


def test_comments_are_ignored_but_urls_in_quotes_survive():
    text = ('// APT::Periodic::Unattended-Upgrade "1";\n/* APT::Periodic::Enable "0";\n*/\n'
            'Acquire::http::Proxy "http://proxy:3128"; // site proxy\n')
    assert parse_apt_conf(text) == {"acquire::http::proxy": {"key": "Acquire::http::Proxy",
                                                             "value": "http://proxy:3128", "line": 4}}


def test_later_assignment_overrides_and_list_items_are_skipped():
    text = ('APT::Periodic::Unattended-Upgrade "1";\nAPT::Periodic::Unattended-Upgrade "0";\n'
            'Unattended-Upgrade::Origins-Pattern { "origin=Debian"; };\n')
    assert parse_apt_conf(text) == {"apt::periodic::unattended-upgrade": {
        "key": "APT::Periodic::Unattended-Upgrade", "value": "0", "line": 2}}


def test_unbalanced_braces_raise_value_error_naming_the_problem():
    with pytest.raises(ValueError, match="unclosed scope 'APT'"):
        parse_apt_conf('APT {\n Periodic::Enable "1";\n')
    with pytest.raises(ValueError, match="line 1"):
        parse_apt_conf("};\n")
