"""ImageHost resolves everything inside its root; LiveHost runs commands safely."""

import os

import pytest

from hostaudit.errors import CommandUnavailable, ProbeError
from hostaudit.host import ImageHost, LiveHost


def test_absolute_symlink_resolves_inside_image_root(tmp_root):
    tmp_root.write("/usr/share/zoneinfo/UTC", "image-zone")
    tmp_root.symlink("/etc/localtime", "/usr/share/zoneinfo/UTC")
    assert tmp_root.host.read_text("/etc/localtime") == "image-zone"


def test_dotdot_cannot_climb_above_image_root(tmp_root, tmp_path):
    (tmp_path / "outside").write_text("auditor's file")
    tmp_root.symlink("/etc/escape", "../../../../outside")
    with pytest.raises(FileNotFoundError):
        tmp_root.host.read_text("/etc/escape")


def test_symlinked_directory_resolves_inside_image_root(tmp_root):
    tmp_root.write("/usr/bin/tcpserver", "")
    tmp_root.symlink("/bin", "usr/bin")
    assert tmp_root.host.is_file("/bin/tcpserver")


def test_symlink_loop_is_an_error_not_a_hang(tmp_root):
    tmp_root.symlink("/a", "/b")
    tmp_root.symlink("/b", "/a")
    with pytest.raises(OSError):
        tmp_root.host.read_text("/a")


def test_glob_returns_target_paths(tmp_root):
    tmp_root.write("/etc/sysctl.d/10-a.conf", "")
    tmp_root.write("/etc/sysctl.d/20-b.conf", "")
    tmp_root.write("/etc/sysctl.d/README", "")
    assert tmp_root.host.glob("/etc/sysctl.d/*.conf") == ["/etc/sysctl.d/10-a.conf", "/etc/sysctl.d/20-b.conf"]


def test_lstat_sees_the_link_itself(tmp_root):
    tmp_root.symlink("/etc/systemd/system/ctrl-alt-del.target", "/dev/null")
    st = tmp_root.host.lstat("/etc/systemd/system/ctrl-alt-del.target")
    assert os.path.islink(tmp_root.path / "etc/systemd/system/ctrl-alt-del.target")
    assert tmp_root.host.readlink("/etc/systemd/system/ctrl-alt-del.target") == "/dev/null"
    assert st.st_mode & 0o170000 == 0o120000


def test_image_host_cannot_run_commands(tmp_root):
    with pytest.raises(CommandUnavailable):
        tmp_root.host.run(["true"])


def test_missing_image_root_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError):
        ImageHost(str(tmp_path / "nope"))


def test_live_command_without_shell_passes_arguments_verbatim():
    done = LiveHost().run(["echo", "$HOME; rm -rf /"])
    assert done.stdout == "$HOME; rm -rf /\n"


def test_live_command_timeout_is_a_probe_error():
    with pytest.raises(ProbeError, match="did not finish"):
        LiveHost().run(["sleep", "5"], timeout=0.2)


def test_live_missing_program_is_unavailable():
    with pytest.raises(CommandUnavailable, match="not installed"):
        LiveHost().run(["hostaudit-no-such-program"])


def test_glob_expands_wildcards_in_directory_components(tmp_root):
    tmp_root.symlink("/etc/rc2.d/S55sshd", "../init.d/sshd")
    tmp_root.symlink("/etc/rc3.d/S55sshd", "../init.d/sshd")
    tmp_root.write("/etc/rc3.d/.hidden", "")
    assert tmp_root.host.glob("/etc/rc?.d/S??sshd") == ["/etc/rc2.d/S55sshd", "/etc/rc3.d/S55sshd"]
    assert tmp_root.host.glob("/etc/rc3.d/*") == ["/etc/rc3.d/S55sshd"]


def test_image_describes_its_own_os_release_followed_inside_the_root(tmp_root):
    tmp_root.write("/usr/lib/os-release", 'NAME="Image OS"\nVERSION_ID="7.3"\n')
    tmp_root.symlink("/etc/os-release", "/usr/lib/os-release")
    described = tmp_root.host.describe()
    assert described["os"] == {"name": "Image OS", "version_id": "7.3"}
    assert "kernel" not in described


def test_image_without_os_release_says_so_rather_than_guessing(tmp_root):
    tmp_root.mkdir("/etc")
    assert tmp_root.host.describe()["os"] == {"error": "no /etc/os-release or /usr/lib/os-release"}


def test_unreadable_os_release_is_an_error_not_absent(tmp_root):
    tmp_root.mkdir("/etc/os-release")  # a directory where a file should be
    assert tmp_root.host.describe()["os"]["error"].startswith("cannot read /etc/os-release")


def test_live_host_names_its_kernel_and_os():
    described = LiveHost().describe()
    assert described["kernel"] == os.uname().release
    assert "name" in described["os"] or "error" in described["os"]
