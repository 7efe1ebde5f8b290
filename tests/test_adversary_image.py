"""Hostile image archives: whatever their members claim, bad input is exit 2 naming the
image, never an internal error, a hang or a file outside the image."""

from __future__ import annotations

import io
import tarfile

import pytest


def _archive(path, members):
    """A tar of ``members``: (name, bytes) for a file, (name, "hardlink", target) for a link."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for member in members:
            info = tarfile.TarInfo(member[0])
            if len(member) == 3:
                info.type, info.linkname = tarfile.LNKTYPE, member[2]
                tar.addfile(info)
            else:
                info.size = len(member[1])
                tar.addfile(info, io.BytesIO(member[1]))
    return path


@pytest.mark.parametrize("links", [
    [("manifest.json", "hardlink", "nothere")],
    [("manifest.json", "hardlink", "manifest.json")],
    [("a", "hardlink", "manifest.json"), ("manifest.json", "hardlink", "a")],
], ids=["missing target", "itself", "a cycle"])
def test_a_docker_archive_whose_manifest_is_a_dangling_hard_link_is_bad_input(tmp_path, links):
    image = _archive(tmp_path / "image.tar", [("repositories", b"{}"), *links])
    code, out, err = _scan_image(image, tmp_path / "out")
    assert code == 2, err
    assert str(image) in err and "manifest.json" in err
    assert "internal error" not in err
    assert not (tmp_path / "out").exists()


def _scan_image(image, out_dir):
    from contextlib import redirect_stderr, redirect_stdout

    from hostaudit.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["scan", "--image", str(image), "-o", str(out_dir), "--format", "json"])
    return code, out.getvalue(), err.getvalue()
