"""docs/contributing.md's data-control example, run as written: its YAML validates and its
tests hold (if this fails, the guide is wrong)."""

import re
from pathlib import Path

from support import evidence_lines, run_check

from hostaudit.baseline import load_checked
from hostaudit.model import Status
from hostaudit.scan import TargetSpec, open_target, scan

GUIDE = Path(__file__).parent.parent / "docs" / "contributing.md"
BANNER = {"path": "/etc/issue.net", "must_not_match": ["(?i)debian|ubuntu|red hat|linux"]}


def _guide_site_yaml() -> str:
    return re.search(r"```yaml\n(# site.yaml\n.*?)```", GUIDE.read_text(), re.S).group(1)


def test_banner_naming_the_distribution_fails(tmp_root):
    tmp_root.write("/etc/issue.net", "Debian GNU/Linux 12\n")
    result = run_check("site.ssh.banner-anonymous", kind="file", root=tmp_root, params=BANNER)
    assert result.status is Status.FAIL
    assert evidence_lines(result)[-1].startswith("/etc/issue.net:1: matches")


def test_neutral_banner_passes(tmp_root):
    tmp_root.write("/etc/issue.net", "Authorised use only.\n")
    assert run_check("site.ssh.banner-anonymous", kind="file", root=tmp_root,
                     params=BANNER).status is Status.PASS


def test_the_guides_site_baseline_validates_and_decides_on_an_image(tmp_path, tmp_root):
    site = tmp_path / "site.yaml"
    site.write_text(_guide_site_yaml())
    baseline = load_checked(str(site))
    tmp_root.write("/etc/passwd", "root:x:0:0::/root:/bin/sh\n")
    tmp_root.write("/etc/issue.net", "Debian GNU/Linux 12\n", mode=0o644)
    with open_target(TargetSpec(root=str(tmp_root.path))) as target:
        run = scan(target, baseline, only=["site."])
    (result,) = run.results
    assert result.status is Status.FAIL
    assert evidence_lines(result.result) == [
        "/etc/issue.net: regular file, owner root (0), mode 0644",
        "/etc/issue.net:1: matches '(?i)debian|ubuntu|red hat|linux': Debian GNU/Linux 12"]
