from support import collect_fact, evidence_lines, run_check

from hostaudit.facts import collect
from hostaudit.host import LiveHost
from hostaudit.model import Status
from hostaudit.registry import load_all

INITTAB_RH73 = """id:3:initdefault:
# Trap CTRL-ALT-DELETE
ca::ctrlaltdel:/sbin/shutdown -t3 -r now
1:2345:respawn:/sbin/mingetty tty1
"""
PROFILE_RH73 = """# /etc/profile
HOSTNAME=`/bin/hostname`
HISTSIZE=1000
TMOUT 1800
export PATH USER LOGNAME MAIL HOSTNAME HISTSIZE INPUTRC TMOUT
"""



def _systemd(tmp_root):
    tmp_root.write("/usr/lib/systemd/systemd", "")
    tmp_root.symlink("/lib", "usr/lib")
    tmp_root.symlink("/usr/lib/systemd/system/ctrl-alt-del.target", "reboot.target")


# -- os.ctrl-alt-del ---------------------------------------------------------------------------
def test_active_ctrlaltdel_in_inittab_fails_with_line(tmp_root):
    tmp_root.write("/etc/inittab", INITTAB_RH73)
    result = run_check("os.ctrl-alt-del", root=tmp_root)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/etc/inittab:3: ca::ctrlaltdel:/sbin/shutdown -t3 -r now is active"]


def test_commented_ctrlaltdel_in_inittab_passes(tmp_root):
    tmp_root.write("/etc/inittab", INITTAB_RH73.replace("ca::", "#ca::"))
    result = run_check("os.ctrl-alt-del", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/etc/inittab:3: ctrlaltdel entry commented out"]


def test_systemd_without_mask_fails_naming_vendor_unit(tmp_root):
    _systemd(tmp_root)
    result = run_check("os.ctrl-alt-del", root=tmp_root)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/usr/lib/systemd/system/ctrl-alt-del.target: ctrl-alt-del.target active: "
                              "no mask in /etc/systemd/system"]


def test_systemd_masked_target_passes(tmp_root):
    _systemd(tmp_root)
    tmp_root.symlink("/etc/systemd/system/ctrl-alt-del.target", "/dev/null")
    result = run_check("os.ctrl-alt-del", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/etc/systemd/system/ctrl-alt-del.target: masked (-> /dev/null)"]


def test_systemd_override_linking_elsewhere_fails(tmp_root):
    _systemd(tmp_root)
    tmp_root.symlink("/etc/systemd/system/ctrl-alt-del.target", "/usr/lib/systemd/system/reboot.target")
    result = run_check("os.ctrl-alt-del", root=tmp_root)
    assert result.status is Status.FAIL
    assert "links to /usr/lib/systemd/system/reboot.target, not /dev/null" in evidence_lines(result)[0]


def test_no_inittab_and_no_systemd_is_an_error(tmp_root):
    tmp_root.mkdir("/etc")
    result = run_check("os.ctrl-alt-del", root=tmp_root)
    assert result.status is Status.ERROR
    assert "/etc/inittab" in result.message and "systemd" in result.message


# -- os.shell-timeout --------------------------------------------------------------------------
def test_document_line_without_equals_sets_nothing_and_fails(tmp_root):
    tmp_root.write("/etc/profile", PROFILE_RH73)
    result = run_check("os.shell-timeout", root=tmp_root, params={"tmout": 1800})
    assert result.status is Status.FAIL
    assert evidence_lines(result)[0] == ("/etc/profile:4: TMOUT 1800 has no '=': the shell runs a command named "
                                 "TMOUT and sets nothing")


def test_tmout_assigned_and_exported_in_profile_passes(tmp_root):
    tmp_root.write("/etc/profile", PROFILE_RH73.replace("TMOUT 1800", "TMOUT=1800"))
    result = run_check("os.shell-timeout", root=tmp_root, params={"tmout": 1800})
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/etc/profile:4: TMOUT=1800", "/etc/profile:5: " + PROFILE_RH73.splitlines()[4]]


def test_modern_profile_d_readonly_export_passes(tmp_root):
    tmp_root.write("/etc/profile", "if [ -d /etc/profile.d ]; then :; fi\n")
    tmp_root.write("/etc/profile.d/tmout.sh", "TMOUT=900\nreadonly TMOUT\nexport TMOUT\n")
    result = run_check("os.shell-timeout", root=tmp_root, params={"tmout": 1800})
    assert result.status is Status.PASS
    assert "/etc/profile.d/tmout.sh:1: TMOUT=900" in evidence_lines(result)


def test_tmout_not_exported_fails(tmp_root):
    tmp_root.write("/etc/bash.bashrc", "TMOUT=600\n")
    result = run_check("os.shell-timeout", root=tmp_root, params={"tmout": 1800})
    assert result.status is Status.FAIL
    assert result.message == "TMOUT is never exported"


def test_tmout_above_limit_fails(tmp_root):
    tmp_root.write("/etc/profile", "export TMOUT=3600\n")
    result = run_check("os.shell-timeout", root=tmp_root, params={"tmout": 1800})
    assert result.status is Status.FAIL
    assert result.message == "TMOUT=3600 is outside 1..1800"


def test_tmout_zero_disables_timeout_and_fails(tmp_root):
    tmp_root.write("/etc/profile", "declare -x TMOUT=0\n")
    assert run_check("os.shell-timeout", root=tmp_root, params={"tmout": 1800}).status is Status.FAIL


def test_tmout_absent_everywhere_fails_listing_where_it_looked(tmp_root):
    tmp_root.write("/etc/profile", "PATH=/bin\n")
    result = run_check("os.shell-timeout", root=tmp_root, params={"tmout": 1800})
    assert result.status is Status.FAIL
    assert "/etc/profile.d/*.sh" in evidence_lines(result)[0] and "no TMOUT= assignment" in evidence_lines(result)[0]


# -- os.history-size ---------------------------------------------------------------------------
def test_redhat_default_histsize_1000_fails(tmp_root):
    tmp_root.write("/etc/profile", PROFILE_RH73)
    result = run_check("os.history-size", root=tmp_root, params={"histsize": 10})
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/etc/profile:3: HISTSIZE=1000"]


def test_histsize_10_passes(tmp_root):
    tmp_root.write("/etc/profile", PROFILE_RH73.replace("HISTSIZE=1000", "HISTSIZE=10"))
    assert run_check("os.history-size", root=tmp_root, params={"histsize": 10}).status is Status.PASS


def test_bashrc_loaded_last_overrides_profile(tmp_root):
    tmp_root.write("/etc/profile", "HISTSIZE=10\n")
    tmp_root.write("/etc/profile.d/a.sh", "HISTSIZE=5\n")
    tmp_root.write("/etc/bash.bashrc", "HISTSIZE=500\n")
    result = run_check("os.history-size", root=tmp_root, params={"histsize": 10})
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/etc/bash.bashrc:1: HISTSIZE=500"]


def test_negative_histsize_is_unlimited_and_fails(tmp_root):
    tmp_root.write("/etc/profile", "HISTSIZE=-1\n")
    result = run_check("os.history-size", root=tmp_root, params={"histsize": 10})
    assert result.status is Status.FAIL
    assert result.message == "HISTSIZE=-1 means unlimited history"


def test_tmout_in_a_profile_d_script_only_root_can_read_fails(tmp_root):
    # /etc/profile sources /etc/profile.d/*.sh only where [ -r ] holds: every other user's shell skips it.
    tmp_root.write("/etc/profile", 'for i in /etc/profile.d/*.sh; do [ -r "$i" ] && . "$i"; done\n')
    tmp_root.write("/etc/profile.d/tmout.sh", "readonly TMOUT=900\nexport TMOUT\n", mode=0o600)
    result = run_check("os.shell-timeout", root=tmp_root, params={"tmout": 1800})
    assert result.status is Status.FAIL
    assert ("/etc/profile.d/tmout.sh:1: readonly TMOUT=900 (only root can read the file: other users' login "
            "shells skip it)") in evidence_lines(result)


# -- os.skel-history-removal -------------------------------------------------------------------
def test_skel_logout_with_document_line_alone_fails_as_bash_saves_history_afterwards(tmp_root):
    # bash runs .bash_logout, then writes the session's history: the file the rm removed comes back.
    tmp_root.write("/etc/skel/.bash_logout", "# ~/.bash_logout\n\nclear\nrm -r $HOME/.bash_history\n")
    result = run_check("os.skel-history-removal", root=tmp_root)
    assert result.status is Status.FAIL
    assert result.message == (".bash_history is removed at logout, but bash writes the session's history "
                              "after .bash_logout runs: nothing clears it (history -c)")
    assert evidence_lines(result) == ["/etc/skel/.bash_logout:4: rm -r $HOME/.bash_history"]


def test_skel_logout_with_document_line_and_history_cleared_passes(tmp_root):
    tmp_root.write("/etc/skel/.bash_logout", "clear\nrm -r $HOME/.bash_history\nhistory -c\n")
    result = run_check("os.skel-history-removal", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/etc/skel/.bash_logout:2: rm -r $HOME/.bash_history",
                                      "/etc/skel/.bash_logout:3: history -c"]


def test_skel_logout_commented_removal_fails(tmp_root):
    tmp_root.write("/etc/skel/.bash_logout", "#rm -f ~/.bash_history\n")
    result = run_check("os.skel-history-removal", root=tmp_root)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/etc/skel/.bash_logout:1: #rm -f ~/.bash_history (commented out)"]


def test_debian_default_skel_logout_fails(tmp_root):
    tmp_root.write("/etc/skel/.bash_logout", "if [ \"$SHLVL\" = 1 ]; then\n"
                   "    [ -x /usr/bin/clear_console ] && /usr/bin/clear_console -q\nfi\n")
    result = run_check("os.skel-history-removal", root=tmp_root)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/etc/skel/.bash_logout: no line mentions .bash_history"]


def test_missing_skel_logout_fails(tmp_root):
    tmp_root.mkdir("/etc/skel")
    result = run_check("os.skel-history-removal", root=tmp_root)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/etc/skel/.bash_logout: absent"]


# -- os.packages-removed / os.no-gui -----------------------------------------------------------

REMOVED = {"removed_packages": ["sendmail", "portmap", "rpcbind", "nfs-common", "ypbind", "nis"]}
GUI = {"gui_packages": ["xserver-xorg-core", "xorg-x11-server-Xorg", "gdm3", "lightdm"]}


def test_installed_unneeded_packages_fail_with_dpkg_lines(tmp_root):
    tmp_root.installed("bash", "rpcbind", "nfs-common", version="2.0")
    result = run_check("os.packages-removed", root=tmp_root, params=REMOVED)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/var/lib/dpkg/status:5: rpcbind 2.0 installed",
                              "/var/lib/dpkg/status:9: nfs-common 2.0 installed"]


def test_no_unneeded_packages_passes(tmp_root):
    tmp_root.installed("bash", "coreutils", version="2.0")
    result = run_check("os.packages-removed", root=tmp_root, params=REMOVED)
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/var/lib/dpkg/status: none of 6 installed"]


def test_removed_but_configured_package_does_not_count(tmp_root):
    tmp_root.write("/var/lib/dpkg/status", "Package: rpcbind\nStatus: deinstall ok config-files\nVersion: 1\n")
    assert run_check("os.packages-removed", root=tmp_root, params=REMOVED).status is Status.PASS


def test_half_configured_package_has_its_files_on_disk_and_fails(tmp_root):
    # dpkg -l shows "iF": unpacked (its programs are there), its configuration failed part way.
    tmp_root.write("/var/lib/dpkg/status", "Package: nfs-common\nStatus: install ok half-configured\nVersion: 1\n")
    result = run_check("os.packages-removed", root=tmp_root, params=REMOVED)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/var/lib/dpkg/status:1: nfs-common 1 installed"]


def test_x_server_installed_fails(tmp_root):
    tmp_root.installed("bash", "xserver-xorg-core", version="2.0")
    result = run_check("os.no-gui", root=tmp_root, params=GUI)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/var/lib/dpkg/status:5: xserver-xorg-core 2.0 installed"]


def test_server_without_gui_passes(tmp_root):
    tmp_root.installed("bash", "openssh-server", version="2.0")
    assert run_check("os.no-gui", root=tmp_root, params=GUI).status is Status.PASS


def test_no_package_database_is_an_error(tmp_root):
    tmp_root.mkdir("/var/lib")
    assert run_check("os.no-gui", root=tmp_root, params=GUI).status is Status.ERROR


def test_ctrlaltdel_entry_that_only_logs_passes(tmp_root):
    # The old STIG way: keep the entry so the key press is logged, run nothing that reboots.
    boots_sysv_inittab(tmp_root, "ca::ctrlaltdel:/usr/bin/logger -p authpriv.notice \"Ctrl-Alt-Del pressed\"\n")
    result = run_check("os.ctrl-alt-del", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/etc/inittab:1: ca::ctrlaltdel:/usr/bin/logger -p authpriv.notice "
                                      "\"Ctrl-Alt-Del pressed\" runs logger, which does not reboot"]


def test_ctrlaltdel_entry_running_an_unknown_program_still_fails(tmp_root):
    boots_sysv_inittab(tmp_root, "ca::ctrlaltdel:/usr/local/sbin/on-cad\n")
    assert run_check("os.ctrl-alt-del", root=tmp_root).status is Status.FAIL


def boots_sysv_inittab(root, text):
    root.write("/etc/inittab", text)


def test_inittab_without_ctrlaltdel_entry_passes(tmp_root):
    tmp_root.write("/etc/inittab", "id:2:initdefault:\n")
    result = run_check("os.ctrl-alt-del", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/etc/inittab: no ctrlaltdel entry"]


def test_debian_skel_bashrc_histsize_undoes_the_profile_setting(tmp_root):
    tmp_root.write("/etc/profile", "HISTSIZE=10\nexport HISTSIZE\n")
    tmp_root.write("/etc/skel/.bashrc", "# for setting history length see HISTSIZE\nHISTSIZE=1000\n")
    result = run_check("os.history-size", root=tmp_root, params={"histsize": 10})
    assert result.status is Status.FAIL
    assert any(e.where == "/etc/skel/.bashrc" and e.line == 2 for e in result.evidence)


def test_readonly_tmout_cannot_be_undone_by_a_later_file(tmp_root):
    tmp_root.write("/etc/profile.d/tmout.sh", "readonly TMOUT=900\nexport TMOUT\n")
    tmp_root.write("/etc/skel/.bashrc", "TMOUT=0\n")
    result = run_check("os.shell-timeout", root=tmp_root, params={"tmout": 1800})
    assert result.status is Status.PASS
    assert result.evidence[0].where == "/etc/profile.d/tmout.sh"


def _ctrl_alt_del_fact(kernel_value):
    return {"ctrl_alt_del": {
        "inittab": {"path": "/etc/inittab", "present": True,
                    "entries": [{"id": "ca", "runlevels": "", "action": "ctrlaltdel", "process": "/sbin/shutdown -r now",
                                 "commented": True, "line": 3}]},
        "systemd": {"present": False, "binary": None, "override": None, "unit": None},
        "kernel": {"path": "/proc/sys/kernel/ctrl-alt-del", "value": kernel_value}}}


def test_live_kernel_ctrl_alt_del_1_fails_whatever_init_says():
    result = run_check("os.ctrl-alt-del", facts=_ctrl_alt_del_fact("1"), mode="live")
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/proc/sys/kernel/ctrl-alt-del: 1: the kernel reboots at once"]


def test_live_kernel_ctrl_alt_del_0_leaves_it_to_init_and_passes():
    result = run_check("os.ctrl-alt-del", facts=_ctrl_alt_del_fact("0"), mode="live")
    assert result.status is Status.PASS
    assert "/proc/sys/kernel/ctrl-alt-del: 0: the kernel leaves the key to init" in evidence_lines(result)


def test_live_ctrl_alt_del_fact_reads_the_kernel_setting():
    with open("/proc/sys/kernel/ctrl-alt-del") as handle:
        kernel = handle.read().strip()
    load_all()
    fact = collect(LiveHost(), ["ctrl_alt_del"], mode="live")["ctrl_alt_del"]
    assert fact["kernel"] == {"path": "/proc/sys/kernel/ctrl-alt-del", "value": kernel}


def test_image_ctrl_alt_del_fact_has_no_kernel_setting(tmp_root):
    tmp_root.write("/etc/inittab", INITTAB_RH73)
    assert collect_fact("ctrl_alt_del", tmp_root)["kernel"] is None
