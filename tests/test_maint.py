from schedulers import boots_systemd, boots_sysvinit, cron_enabled
from support import collect_fact, evidence_lines, run_check

from hostaudit.facts import collect
from hostaudit.host import ImageHost
from hostaudit.model import Status
from hostaudit.registry import load_all


def _debian_unattended(root, upgrade="1"):
    root.write("/usr/bin/unattended-upgrade", "#!/usr/bin/python3\n", mode=0o755)
    root.write("/etc/apt/apt.conf.d/20auto-upgrades",
               f'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "{upgrade}";\n')
    root.write("/lib/systemd/system/apt-daily-upgrade.timer", "[Timer]\nOnCalendar=*-*-* 6:00\n")
    root.write("/lib/systemd/system/apt-daily-upgrade.service",
               "[Service]\nExecStart=/usr/lib/apt/apt.systemd.daily install\n")
    root.symlink("/etc/systemd/system/timers.target.wants/apt-daily-upgrade.timer",
                 "/lib/systemd/system/apt-daily-upgrade.timer")
    root.write("/lib/systemd/system/apt-daily.timer", "[Timer]\nOnCalendar=*-*-* 6,18:00\n")
    root.write("/lib/systemd/system/apt-daily.service", "[Service]\nExecStart=/usr/lib/apt/apt.systemd.daily update\n")
    root.symlink("/etc/systemd/system/timers.target.wants/apt-daily.timer", "/lib/systemd/system/apt-daily.timer")


SYSTEMD_AND_CRON = {
    "init": {"kind": "systemd", "source": "/proc/1/exe", "text": "PID 1 is /usr/lib/systemd/systemd (systemd)"},
    "cron": [{"name": "cron", "runs": ["crontab", "hourly", "daily", "weekly", "monthly"], "state": "runs",
              "why": "enabled at boot (systemd)"}],
    "timers": {"state": "runs", "why": "systemd is the init"}}


# maint.auto-patches

def test_2002_rpm_freshen_cron_job_passes(tmp_root):
    cron_enabled(tmp_root, init="sysvinit")
    tmp_root.write("/var/spool/cron/root", "0 4 * * * rpm -Fvh ftp://updates.redhat.com/current/en/os/i686/*\n")
    result = run_check("maint.auto-patches", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result)[0] == ("/var/spool/cron/root:1: 0 4 * * * rpm -Fvh ftp://updates.redhat.com/current/"
                                         "en/os/i686/* [run by cron]")


def test_apt_get_upgrade_without_yes_is_not_unattended_and_fails(tmp_root):
    tmp_root.write("/etc/cron.d/patch", "0 4 * * * root apt-get update && apt-get upgrade\n")
    assert run_check("maint.auto-patches", root=tmp_root).status is Status.FAIL


def test_unattended_upgrades_enabled_passes(tmp_root):
    _debian_unattended(tmp_root)
    boots_systemd(tmp_root)
    result = run_check("maint.auto-patches", root=tmp_root)
    assert result.status is Status.PASS
    assert '/etc/apt/apt.conf.d/20auto-upgrades:2: APT::Periodic::Unattended-Upgrade "1"' in evidence_lines(result)
    assert ("/etc/systemd/system/timers.target.wants/apt-daily-upgrade.timer: apt-daily-upgrade.timer enabled "
            "[run by systemd]") in evidence_lines(result)


def test_unattended_upgrades_without_the_list_update_timer_fails(tmp_root):
    # apt-daily-upgrade runs apt.systemd.daily install: unattended-upgrade only; the package lists are
    # refreshed by apt-daily.service (apt.systemd.daily update). Without it no new version is ever seen.
    _debian_unattended(tmp_root)
    boots_systemd(tmp_root)
    (tmp_root.path / "etc/systemd/system/timers.target.wants/apt-daily.timer").unlink()
    tmp_root.symlink("/etc/systemd/system/apt-daily.timer", "/dev/null")
    result = run_check("maint.auto-patches", root=tmp_root)
    assert result.status is Status.FAIL
    assert ("/etc/systemd/system/timers.target.wants/apt-daily-upgrade.timer: apt-daily-upgrade.timer enabled, "
            "but apt-daily.timer is not: the package lists are never refreshed, so unattended-upgrade finds no "
            "new version") in evidence_lines(result)


def test_apt_compat_cron_script_does_nothing_where_systemd_is_the_init(tmp_root):
    # /etc/cron.daily/apt-compat exits at once when /run/systemd/system exists: the timers are meant to run.
    _debian_unattended(tmp_root)
    for timer in ("apt-daily-upgrade.timer", "apt-daily.timer"):
        (tmp_root.path / "etc/systemd/system/timers.target.wants" / timer).unlink()
    cron_enabled(tmp_root, "unattended-upgrades")
    tmp_root.write("/etc/cron.daily/apt-compat", "#!/bin/sh\nexec /usr/lib/apt/apt.systemd.daily\n", mode=0o755)
    result = run_check("maint.auto-patches", root=tmp_root)
    assert result.status is Status.FAIL
    assert ("/etc/cron.daily/apt-compat: exits at once where systemd is the init (it leaves the work to the "
            "apt-daily timers)") in evidence_lines(result)


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
    boots_systemd(tmp_root)
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
    cron_enabled(tmp_root)
    tmp_root.write("/etc/crontab", "0 * * * * root /bin/df -h | mail -s disk root\n")
    result = run_check("maint.disk-monitor", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result)[0] == ("/etc/crontab:1: 0 * * * * /bin/df -h | mail -s disk root "
                                         "[run by cron]")


def test_cron_daily_script_running_check_disk_passes(tmp_root):
    cron_enabled(tmp_root)
    tmp_root.write("/etc/cron.daily/diskspace", "#!/bin/sh\n# watch space\n/usr/lib/nagios/plugins/check_disk -w 10% -c 5% /\n", mode=0o755)
    result = run_check("maint.disk-monitor", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result)[0] == ("/etc/cron.daily/diskspace:3: daily: /usr/lib/nagios/plugins/check_disk -w 10% -c 5% / "
                                         "[run by cron]")


def test_df_job_in_a_cron_d_file_debian_cron_skips_fails(tmp_root):
    cron_enabled(tmp_root)
    tmp_root.write("/etc/cron.d/disk.check", "0 * * * * root /bin/df -h | mail -s disk root\n")
    result = run_check("maint.disk-monitor", root=tmp_root)
    assert result.status is Status.FAIL
    assert result.message == "a disk-space check is scheduled, but nothing runs it"
    assert "[nothing runs it: cron skips it: the name disk.check is not made of letters, digits, _ and - only]" \
        in evidence_lines(result)[0]


def test_df_cron_daily_script_that_is_not_executable_fails(tmp_root):
    cron_enabled(tmp_root)
    tmp_root.write("/etc/cron.daily/diskspace", "#!/bin/sh\ndf -h | mail -s disk root\n", mode=0o644)
    result = run_check("maint.disk-monitor", root=tmp_root)
    assert result.status is Status.FAIL
    assert "cron skips it: not executable" in evidence_lines(result)[0]


def test_words_containing_df_do_not_count_and_fail(tmp_root):
    tmp_root.write("/etc/crontab", "0 * * * * root /usr/bin/pdftotext x && ls -df /tmp\n")
    assert run_check("maint.disk-monitor", root=tmp_root).status is Status.FAIL


def test_schedules_fact_keeps_only_watched_script_lines(tmp_root):
    tmp_root.write("/etc/cron.daily/man-db", "#!/bin/sh\nset -e\nmandb --quiet\n", mode=0o755)
    tmp_root.write("/etc/cron.daily/tripwire.dpkg-old", "tripwire --check\n", mode=0o755)
    scripts = collect_fact("schedules", tmp_root)["scripts"]
    assert scripts == [{"path": "/etc/cron.daily/man-db", "period": "daily", "lines": [], "skipped_by": {}}]


def test_unreadable_user_crontabs_make_a_missing_disk_check_an_error():
    facts = {"schedules": {"cron": [], "cron_malformed": [], "scripts": [], "timers": [],
                           "unreadable": ["/var/spool/cron/crontabs"]}, "scheduler": SYSTEMD_AND_CRON}
    result = run_check("maint.disk-monitor", facts=facts)
    assert result.status is Status.ERROR
    assert "/var/spool/cron/crontabs" in result.message


def test_user_crontab_in_debian_spool_counts_with_its_owner(tmp_root):
    tmp_root.write("/var/spool/cron/crontabs/tony", "# DO NOT EDIT\n15 * * * * df -h /var\n", mode=0o600)
    cron = collect_fact("schedules", tmp_root)["cron"]
    assert cron == [{"line": 2, "schedule": "15 * * * *", "user": "tony", "command": "df -h /var",
                     "path": "/var/spool/cron/crontabs/tony", "skipped_by": {}}]


def test_df_cron_job_fails_when_no_cron_daemon_is_installed(tmp_root):
    boots_systemd(tmp_root)
    tmp_root.installed("bash")
    tmp_root.write("/etc/cron.d/disk", "0 * * * * root df -h\n")
    result = run_check("maint.disk-monitor", root=tmp_root)
    assert result.status is Status.FAIL
    assert result.message == "a disk-space check is scheduled, but nothing runs it"
    assert evidence_lines(result)[0] == ("/etc/cron.d/disk:1: 0 * * * * df -h [nothing runs it: no cron daemon "
                                         "installed (cron, cronie, systemd-cron)]")


def test_unattended_upgrades_timer_fails_when_the_init_is_not_systemd(tmp_root):
    _debian_unattended(tmp_root)
    boots_sysvinit(tmp_root)
    tmp_root.installed("unattended-upgrades")
    result = run_check("maint.auto-patches", root=tmp_root)
    assert result.status is Status.FAIL
    assert ("/etc/systemd/system/timers.target.wants/apt-daily-upgrade.timer: apt-daily-upgrade.timer enabled "
            "[nothing runs it: systemd timers: the init is not systemd (/sbin/init)]") in evidence_lines(result)


def test_apt_compat_cron_script_runs_unattended_upgrades_under_sysvinit_with_cron(tmp_root):
    _debian_unattended(tmp_root)
    cron_enabled(tmp_root, "unattended-upgrades", init="sysvinit")
    tmp_root.write("/etc/cron.daily/apt-compat", "#!/bin/sh\nexec /usr/lib/apt/apt.systemd.daily\n", mode=0o755)
    result = run_check("maint.auto-patches", root=tmp_root)
    assert result.status is Status.PASS
    assert ("/etc/cron.daily/apt-compat: runs apt.systemd.daily [run by cron]"
            in evidence_lines(result))


class _LiveFixture(ImageHost):
    """A fixture root read as if it were the running system (its /proc is the fixture's)."""

    mode = "live"


def _live_scheduler(root):
    load_all()
    return collect(_LiveFixture(str(root.path)), ["scheduler"], mode="live")["scheduler"]


def test_live_cron_installed_but_not_running_under_a_container_init_runs_nothing(tmp_root):
    tmp_root.installed("cron")
    tmp_root.write("/proc/1/comm", "tini\n")
    tmp_root.write("/proc/42/comm", "bash\n")
    cron = next(d for d in _live_scheduler(tmp_root)["cron"] if d["name"] == "cron")
    assert (cron["state"], cron["why"]) == ("idle", "not running, and PID 1 is 'tini' (/proc/1/exe unreadable) "
                                                    "reads no boot links")


def test_live_running_cron_daemon_runs_jobs_whatever_the_init(tmp_root):
    tmp_root.installed("cron")
    tmp_root.write("/proc/1/comm", "tini\n")
    tmp_root.write("/proc/42/comm", "cron\n")
    scheduler = _live_scheduler(tmp_root)
    cron = next(d for d in scheduler["cron"] if d["name"] == "cron")
    assert (cron["state"], cron["why"]) == ("runs", "running (pid 42)")
    assert scheduler["timers"]["state"] == "idle"


def test_live_pid1_systemd_runs_timers(tmp_root):
    tmp_root.installed("bash")
    tmp_root.write("/proc/1/comm", "systemd\n")
    tmp_root.symlink("/proc/1/exe", "/usr/lib/systemd/systemd")
    scheduler = _live_scheduler(tmp_root)
    assert scheduler["init"]["text"] == "PID 1 is /usr/lib/systemd/systemd (systemd)"
    assert scheduler["timers"]["state"] == "runs"
