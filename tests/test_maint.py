from hostaudit.model import Status
from support import collect_fact, evidence_lines, run_check



def _debian_unattended(root, upgrade="1"):
    root.write("/usr/bin/unattended-upgrade", "#!/usr/bin/python3\n", mode=0o755)
    root.write("/etc/apt/apt.conf.d/20auto-upgrades",
               f'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "{upgrade}";\n')
    root.write("/lib/systemd/system/apt-daily-upgrade.timer", "[Timer]\nOnCalendar=*-*-* 6:00\n")
    root.write("/lib/systemd/system/apt-daily-upgrade.service",
               "[Service]\nExecStart=/usr/lib/apt/apt.systemd.daily install\n")
    root.symlink("/etc/systemd/system/timers.target.wants/apt-daily-upgrade.timer",
                 "/lib/systemd/system/apt-daily-upgrade.timer")


# maint.auto-patches

def test_2002_rpm_freshen_cron_job_passes(tmp_root):
    tmp_root.write("/var/spool/cron/root", "0 4 * * * rpm -Fvh ftp://updates.redhat.com/current/en/os/i686/*\n")
    result = run_check("maint.auto-patches", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/var/spool/cron/root:1: 0 4 * * * rpm -Fvh ftp://updates.redhat.com/current/en/os/i686/*"]


def test_apt_get_upgrade_without_yes_is_not_unattended_and_fails(tmp_root):
    tmp_root.write("/etc/cron.d/patch", "0 4 * * * root apt-get update && apt-get upgrade\n")
    assert run_check("maint.auto-patches", root=tmp_root).status is Status.FAIL


def test_unattended_upgrades_enabled_passes(tmp_root):
    _debian_unattended(tmp_root)
    result = run_check("maint.auto-patches", root=tmp_root)
    assert result.status is Status.PASS
    assert '/etc/apt/apt.conf.d/20auto-upgrades:2: APT::Periodic::Unattended-Upgrade "1"' in evidence_lines(result)
    assert "/etc/systemd/system/timers.target.wants/apt-daily-upgrade.timer: apt-daily-upgrade.timer enabled" in evidence_lines(result)


def test_unattended_upgrades_installed_but_switched_off_fails(tmp_root):
    _debian_unattended(tmp_root, upgrade="0")
    result = run_check("maint.auto-patches", root=tmp_root)
    assert result.status is Status.FAIL
    assert '/etc/apt/apt.conf.d/20auto-upgrades:2: APT::Periodic::Unattended-Upgrade "0"' in evidence_lines(result)


def test_dnf_automatic_timer_with_apply_updates_passes(tmp_root):
    tmp_root.write("/usr/bin/dnf-automatic", "#!/usr/bin/python3\n", mode=0o755)
    tmp_root.write("/etc/dnf/automatic.conf", "[commands]\nupgrade_type = security\napply_updates = yes\n")
    tmp_root.write("/usr/lib/systemd/system/dnf-automatic.timer", "[Timer]\nOnCalendar=*-*-* 6:00\n")
    tmp_root.write("/usr/lib/systemd/system/dnf-automatic.service", "[Service]\nExecStart=/usr/bin/dnf-automatic /etc/dnf/automatic.conf --timer\n")
    tmp_root.symlink("/etc/systemd/system/timers.target.wants/dnf-automatic.timer", "/usr/lib/systemd/system/dnf-automatic.timer")
    result = run_check("maint.auto-patches", root=tmp_root)
    assert result.status is Status.PASS
    assert "/etc/dnf/automatic.conf:3: apply_updates = yes" in evidence_lines(result)


def test_dnf_automatic_download_only_fails(tmp_root):
    tmp_root.write("/usr/bin/dnf-automatic", "#!/usr/bin/python3\n", mode=0o755)
    tmp_root.write("/etc/dnf/automatic.conf", "[commands]\napply_updates = no\n")
    tmp_root.write("/usr/lib/systemd/system/dnf-automatic.timer", "[Timer]\nOnCalendar=daily\n")
    tmp_root.symlink("/etc/systemd/system/timers.target.wants/dnf-automatic.timer", "/usr/lib/systemd/system/dnf-automatic.timer")
    result = run_check("maint.auto-patches", root=tmp_root)
    assert result.status is Status.FAIL
    assert "/etc/dnf/automatic.conf:2: apply_updates = no" in evidence_lines(result)


def test_nothing_scheduled_fails(tmp_root):
    result = run_check("maint.auto-patches", root=tmp_root)
    assert result.status is Status.FAIL
    assert result.message == "updates are not applied automatically"


# maint.disk-monitor

def test_df_cron_job_passes(tmp_root):
    tmp_root.write("/etc/crontab", "0 * * * * root /bin/df -h | mail -s disk root\n")
    result = run_check("maint.disk-monitor", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/etc/crontab:1: 0 * * * * /bin/df -h | mail -s disk root"]


def test_cron_daily_script_running_check_disk_passes(tmp_root):
    tmp_root.write("/etc/cron.daily/diskspace", "#!/bin/sh\n# watch space\n/usr/lib/nagios/plugins/check_disk -w 10% -c 5% /\n", mode=0o755)
    result = run_check("maint.disk-monitor", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/etc/cron.daily/diskspace:3: daily: /usr/lib/nagios/plugins/check_disk -w 10% -c 5% /"]


def test_words_containing_df_do_not_count_and_fail(tmp_root):
    tmp_root.write("/etc/crontab", "0 * * * * root /usr/bin/pdftotext x && ls -df /tmp\n")
    assert run_check("maint.disk-monitor", root=tmp_root).status is Status.FAIL


def test_schedules_fact_keeps_only_watched_script_lines(tmp_root):
    tmp_root.write("/etc/cron.daily/man-db", "#!/bin/sh\nset -e\nmandb --quiet\n", mode=0o755)
    tmp_root.write("/etc/cron.daily/tripwire.dpkg-old", "tripwire --check\n", mode=0o755)
    scripts = collect_fact("schedules", tmp_root)["scripts"]
    assert scripts == [{"path": "/etc/cron.daily/man-db", "period": "daily", "lines": []}]


def test_unreadable_user_crontabs_make_a_missing_disk_check_an_error():
    facts = {"schedules": {"cron": [], "cron_malformed": [], "scripts": [], "timers": [],
                           "unreadable": ["/var/spool/cron/crontabs"]}}
    result = run_check("maint.disk-monitor", facts=facts)
    assert result.status is Status.ERROR
    assert "/var/spool/cron/crontabs" in result.message


def test_user_crontab_in_debian_spool_counts_with_its_owner(tmp_root):
    tmp_root.write("/var/spool/cron/crontabs/tony", "# DO NOT EDIT\n15 * * * * df -h /var\n", mode=0o600)
    cron = collect_fact("schedules", tmp_root)["cron"]
    assert cron == [{"line": 2, "schedule": "15 * * * *", "user": "tony", "command": "df -h /var",
                     "path": "/var/spool/cron/crontabs/tony"}]
