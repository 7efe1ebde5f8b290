from hostaudit.parsers.sysctl import load_order, normalize_key, parse_sysctl_conf, proc_path


def test_slash_separated_key_becomes_dotted():
    assert normalize_key("net/ipv4/tcp_syncookies") == "net.ipv4.tcp_syncookies"


def test_slash_key_keeps_dot_inside_interface_name():
    assert normalize_key("net/ipv4/conf/eth0.10/rp_filter") == "net.ipv4.conf.eth0/10.rp_filter"
    assert proc_path("net.ipv4.conf.eth0/10.rp_filter") == "/proc/sys/net/ipv4/conf/eth0.10/rp_filter"


def test_settings_keep_line_and_ignore_failure_prefix():
    text = "# doc\n; other comment\nnet.ipv4.tcp_syncookies = 1\n-net.ipv4.ip_always_defrag=1\n"
    settings = parse_sysctl_conf(text)
    assert settings[0] == {"key": "net.ipv4.tcp_syncookies", "value": "1",
                           "ignore_failure": False, "line": 3}
    assert settings[1]["ignore_failure"] is True
    assert settings[1]["key"] == "net.ipv4.ip_always_defrag"


def test_line_without_equals_is_malformed():
    assert parse_sysctl_conf("net.ipv4.tcp_syncookies 1\n= 1\n") == [
        {"line": 1, "malformed": True}, {"line": 2, "malformed": True}]


def test_dash_key_without_value_excludes_the_key_from_globs():
    assert parse_sysctl_conf("-net.ipv4.conf.all.rp_filter\n") == [
        {"key": "net.ipv4.conf.all.rp_filter", "excluded": True, "ignore_failure": True, "line": 1}]


def test_load_order_sorts_names_across_dirs_and_etc_masks_same_name():
    order = load_order({
        "/usr/lib/sysctl.d": ["50-default.conf", "99-protect-links.conf"],
        "/etc/sysctl.d": ["50-default.conf", "10-local.conf", "README"],
        "/run/sysctl.d": ["60-run.conf"],
    })
    assert order == ["/etc/sysctl.d/10-local.conf", "/etc/sysctl.d/50-default.conf",
                     "/run/sysctl.d/60-run.conf", "/usr/lib/sysctl.d/99-protect-links.conf"]
