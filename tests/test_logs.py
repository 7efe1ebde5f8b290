from support import evidence_lines, run_check

from hostaudit.model import Status

MIN6 = {"min_months": 6}
REDHAT_73 = """# see "man logrotate" for details
# rotate log files weekly
weekly

# keep 4 weeks worth of backlogs
rotate 4

# create new (empty) log files after rotating old ones
create

# uncomment this if you want your log files compressed
#compress

include /etc/logrotate.d
"""
HARDENED = REDHAT_73.replace("\nweekly", "\nmonthly").replace("rotate 4", "rotate 6").replace("#compress", "compress")



def test_redhat_default_four_weeks_uncompressed_fails(tmp_root):
    tmp_root.write("/etc/logrotate.conf", REDHAT_73)
    result = run_check("logs.rotation", root=tmp_root, params=MIN6)
    assert result.status is Status.FAIL
    assert result.message == "keeps 0.9 months (4 x weekly); logs are not compressed"
    assert evidence_lines(result) == ["/etc/logrotate.conf:3: weekly", "/etc/logrotate.conf:6: rotate 4",
                              "/etc/logrotate.conf:12: #compress commented out"]


def test_document_change_monthly_rotate_6_compress_passes(tmp_root):
    tmp_root.write("/etc/logrotate.conf", HARDENED)
    result = run_check("logs.rotation", root=tmp_root, params=MIN6)
    assert result.status is Status.PASS
    assert "/etc/logrotate.conf:12: compress" in evidence_lines(result)


def test_weekly_rotate_26_is_six_months(tmp_root):
    tmp_root.write("/etc/logrotate.conf", "weekly\nrotate 26\ncompress\n")
    assert run_check("logs.rotation", root=tmp_root, params=MIN6).status is Status.PASS


def test_no_frequency_assumes_weekly_and_says_so(tmp_root):
    tmp_root.write("/etc/logrotate.conf", "rotate 6\ncompress\n")
    result = run_check("logs.rotation", root=tmp_root, params=MIN6)
    assert result.status is Status.FAIL
    assert "no global frequency; weekly assumed" in evidence_lines(result)[0]


def test_settings_inside_a_block_do_not_count(tmp_root):
    tmp_root.write("/etc/logrotate.conf", "weekly\nrotate 4\n/var/log/wtmp {\n monthly\n rotate 12\n compress\n}\n")
    result = run_check("logs.rotation", root=tmp_root, params=MIN6)
    assert result.status is Status.FAIL
    assert evidence_lines(result)[-1] == "/etc/logrotate.conf: no global compress directive"


def test_later_nocompress_overrides_compress(tmp_root):
    tmp_root.write("/etc/logrotate.conf", "monthly\nrotate 6\ncompress\nnocompress\n")
    result = run_check("logs.rotation", root=tmp_root, params=MIN6)
    assert result.status is Status.FAIL
    assert "/etc/logrotate.conf:4: nocompress" in evidence_lines(result)


def test_missing_logrotate_conf_fails(tmp_root):
    tmp_root.mkdir("/etc")
    result = run_check("logs.rotation", root=tmp_root, params=MIN6)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/etc/logrotate.conf: absent"]
