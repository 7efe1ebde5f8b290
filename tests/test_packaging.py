"""What a user gets: the README's two commands are valid shell for root and for a sudo user,
and installing the project adds one import name, ``hostaudit``, and its console script."""

import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _readme_commands() -> list[str]:
    """The shell blocks of the README's section "The two commands"."""
    text = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    section = text[text.index("## The two commands"):]
    section = section[:section.index("\n## ", 1)]
    return re.findall(r"```sh\n(.*?)\n```", section, re.S)


def test_readme_has_two_one_line_commands():
    commands = _readme_commands()
    assert len(commands) == 2
    assert all("\n" not in c for c in commands)


@pytest.mark.parametrize("shell", ["sh", "bash"])
def test_readme_commands_parse_in_sh_and_bash(shell):
    for command in _readme_commands():
        done = subprocess.run([shell, "-n", "-c", command], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, (command, done.stderr)


def _prefix_as(command: str, *, user: str | None) -> str:
    """What the command's first word expands to, run as root or (``user``) an unprivileged uid."""
    prefix = re.match(r"(\$\(.*?\)\)|\$\(.*?\)) ", command)
    assert prefix, command
    probe = f'printf "[%s]" {prefix.group(1)}'
    argv = ["sh", "-c", probe]
    if user:
        argv = ["setpriv", "--reuid", user, "--regid", user, "--clear-groups", *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True).stdout


def test_readme_commands_need_no_sudo_as_root_and_use_it_otherwise(require_root):
    for command in _readme_commands():
        assert _prefix_as(command, user=None) == "[]"
        assert _prefix_as(command, user="65534") == "[sudo]"
        rest = command.split(") ", 1)[1]
        assert rest.startswith(("sh -c '", "bash tests/")), rest


def _wheel(tmp_path) -> str:
    """A wheel built from a copy of the checkout (the build leaves build/ and *.egg-info)."""
    source = tmp_path / "src"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True,
                           timeout=60).stdout.decode().split("\0")
    for name in filter(None, files):
        if os.path.isfile(os.path.join(REPO, name)):
            os.makedirs(source / os.path.dirname(name), exist_ok=True)
            shutil.copy2(os.path.join(REPO, name), source / name)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "dist"),
                           str(source)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    [wheel] = os.listdir(tmp_path / "dist")
    return str(tmp_path / "dist" / wheel)


def test_install_adds_only_the_hostaudit_import_name_and_its_script(tmp_path):
    wheel = _wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [record] = [n for n in names if n.endswith(".dist-info/RECORD")]
        recorded = [line.split(",", 1)[0] for line in archive.read(record).decode().splitlines()]
    top = {path.split("/", 1)[0] for path in recorded if ".dist-info/" not in path}
    assert top == {"hostaudit"}
    for shipped in ("hostaudit/cli.py", "hostaudit/checks/mail.py", "hostaudit/baselines/gcux-qmail.yaml",
                    "hostaudit/reports/report.schema.json", "hostaudit/reports/templates/report.html.j2"):
        assert shipped in recorded

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel],
                   check=True, capture_output=True, timeout=300)
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    installed = {n for n in os.listdir(site) if not n.endswith(".dist-info") and n != "__pycache__"}
    assert installed == {"hostaudit"}
    assert os.access(venv / "bin" / "hostaudit", os.X_OK)
