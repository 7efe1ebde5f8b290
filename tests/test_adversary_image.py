"""Hostile image archives: whatever their members claim, bad input is exit 2 naming the
image, never an internal error, a hang or a file outside the image."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
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


def _blob(layout, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return digest


def _layer() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("etc/hostname")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"mail\n"))
    return buffer.getvalue()


def _oci_layout(layout, **descriptor_fields):
    """An OCI layout of one image whose index descriptor carries ``descriptor_fields``."""
    layer = _blob(layout, _layer())
    config = _blob(layout, json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {
        "type": "layers", "diff_ids": [f"sha256:{layer}"]}}).encode())
    manifest = _blob(layout, json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"digest": f"sha256:{config}", "size": 1,
                   "mediaType": "application/vnd.oci.image.config.v1+json"},
        "layers": [{"digest": f"sha256:{layer}", "size": 1,
                    "mediaType": "application/vnd.oci.image.layer.v1.tar"}]}).encode())
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    descriptor = {"digest": f"sha256:{manifest}", "size": 1,
                  "mediaType": "application/vnd.oci.image.manifest.v1+json", **descriptor_fields}
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [descriptor]}))
    return layout


@pytest.mark.parametrize("field, value", [
    ("platform", "linux/amd64"),
    ("platform", 5),
    ("annotations", ["vnd.docker.reference.type"]),
    ("annotations", "attestation-manifest"),
])
def test_an_oci_index_descriptor_whose_platform_or_annotations_is_no_object_is_bad_input(tmp_path, field, value):
    layout = _oci_layout(tmp_path / "layout", **{field: value})
    code, out, err = _scan_image(layout, tmp_path / "out")
    assert code == 2, err
    assert "internal error" not in err
    assert f"manifests[0].{field}" in err and str(layout) in err
    assert not (tmp_path / "out").exists()


def _docker_archive(path, *images):
    """A docker-save archive of one layer whose manifest.json lists ``images`` (dicts
    merged over a valid entry)."""
    layer = _layer()
    layer_hex = hashlib.sha256(layer).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {
        "type": "layers", "diff_ids": [f"sha256:{layer_hex}"]}}).encode()
    config_hex = hashlib.sha256(config).hexdigest()
    entry = {"Config": f"{config_hex}.json", "RepoTags": ["mail:1"], "Layers": [f"{layer_hex}/layer.tar"]}
    manifest = json.dumps([{**entry, **image} for image in images]).encode()
    return _archive(path, [(f"{layer_hex}/layer.tar", layer), (f"{config_hex}.json", config),
                           ("manifest.json", manifest), ("repositories", b"{}")])


@pytest.mark.parametrize("images", [
    [{"RepoTags": 5}],
    [{}, {"RepoTags": [5]}],
    [{}, {"RepoTags": 7}],
], ids=["a number", "a list of numbers beside another image", "a number beside another image"])
def test_a_docker_manifest_whose_repo_tags_are_no_list_of_strings_is_bad_input(tmp_path, images):
    image = _docker_archive(tmp_path / "image.tar", *images)
    code, out, err = _scan_image(image, tmp_path / "out")
    assert code == 2, err
    assert "internal error" not in err
    assert "RepoTags" in err and str(image) in err
    assert not (tmp_path / "out").exists()


def test_a_rootfs_tarball_with_gnu_sparse_members_is_read_with_its_holes(tmp_path):
    from hostaudit.image import open_image

    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    with open(tree / "etc" / "lastlog", "wb") as sparse:  # what `tar --sparse` of /var/log makes
        sparse.write(b"head")
        sparse.seek(4 * 1024 * 1024)
        sparse.write(b"tail")
    image = tmp_path / "sparse.tar"
    subprocess.run(["tar", "--format=gnu", "--sparse", "-C", tree, "-cf", image, "."], check=True)
    with tarfile.open(image) as tar:
        assert any(m.type == tarfile.GNUTYPE_SPARSE for m in tar)
    with open_image(str(image)) as (host, _described):
        data = host.read_bytes("/etc/lastlog", limit=8 * 1024 * 1024)
        assert host.stat("/etc/lastlog").st_size == len(data) == 4 * 1024 * 1024 + 4
        assert data.startswith(b"head\0") and data.endswith(b"\0tail")
        assert host.read_text("/etc/passwd").startswith("root:")
    code, _, err = _scan_image(image, tmp_path / "out")
    assert code in (0, 1), err
