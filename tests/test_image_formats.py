"""Image formats for --image: docker-save archives and OCI layouts built here with tarfile,
json and hashlib; layers applied with whiteouts and opaque directories, digests checked,
anything else bad input; the same tree gives the same verdicts in every format."""

import gzip
import hashlib
import io
import json
import os
import tarfile
from contextlib import redirect_stderr, redirect_stdout

import pytest
from test_image import directory, link, regular

from hostaudit.baseline import load
from hostaudit.cli import main
from hostaudit.errors import InputError
from hostaudit.image import default_platform, detect_image_format, open_image, read_image
from hostaudit.model import Status
from hostaudit.probes.reads import may_be_read
from hostaudit.scan import TargetSpec, open_target, scan


# -- building images in the test --------------------------------------------------------------
def tar_bytes(*members) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)  # the same bytes every time, so tests can find a blob


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _add(archive, name, data):
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    archive.addfile(info, io.BytesIO(data))


def config_of(layers, platform="linux/amd64"):
    os_name, arch = platform.split("/")[:2]
    return json.dumps({"architecture": arch, "os": os_name,
                       "rootfs": {"type": "layers", "diff_ids": [f"sha256:{sha(lay)}" for lay in layers]}}).encode()


def docker_save(path, layers, *, compress=False, legacy=True, manifest=None, extra=()):
    """A `docker save` archive: legacy (<id>/layer.tar, <config>.json) or Docker 25's blobs."""
    config = config_of(layers)
    with tarfile.open(path, "w") as archive:
        names = []
        for layer in layers:
            blob = gz(layer) if compress else layer
            name = f"{sha(layer)}/layer.tar" if legacy else f"blobs/sha256/{sha(blob)}"
            _add(archive, name, blob)
            names.append(name)
        config_name = f"{sha(config)}.json" if legacy else f"blobs/sha256/{sha(config)}"
        _add(archive, config_name, config)
        entries = manifest if manifest is not None else \
            [{"Config": config_name, "RepoTags": ["mail:1"], "Layers": names}]
        _add(archive, "manifest.json", json.dumps(entries).encode())
        for name, data in extra:
            _add(archive, name, data)
    return str(path)


def oci_layout(root, images, *, compress=True):
    """An OCI image layout directory; ``images`` maps a platform to its layers (one image: no
    platform in the index)."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def blob(data, media):
        (blobs / sha(data)).write_bytes(data)
        return {"mediaType": media, "digest": f"sha256:{sha(data)}", "size": len(data)}

    descriptors = []
    for platform, layers in images.items():
        layer_descs = [blob(gz(lay) if compress else lay,
                            "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if compress else ""))
                       for lay in layers]
        config = blob(config_of(layers, platform), "application/vnd.oci.image.config.v1+json")
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": config, "layers": layer_descs}).encode()
        descriptor = blob(manifest, "application/vnd.oci.image.manifest.v1+json")
        if len(images) > 1:
            os_name, arch = platform.split("/")[:2]
            descriptor["platform"] = {"os": os_name, "architecture": arch}
        descriptors.append(descriptor)
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": descriptors}))
    return str(root)


def oci_tar(path, layout_dir):
    with tarfile.open(path, "w") as archive:
        for name in sorted(os.listdir(layout_dir)):
            archive.add(os.path.join(layout_dir, name), arcname=name)
    return str(path)


PASSWD = b"root:x:0:0:root:/root:/bin/sh\n"
LOWER = tar_bytes(
    directory("etc"), regular("etc/passwd", PASSWD), regular("etc/old-secret", b"lower\n"),
    directory("etc/cron.d"), regular("etc/cron.d/lower-job", b"* * * * * root lower\n"),
    directory("usr/bin"), regular("usr/bin/tool", b"\x7fELF"),
)
UPPER = tar_bytes(
    regular("etc/.wh.old-secret"),
    directory("etc/cron.d", mode=0o700),
    regular("etc/cron.d/.wh..wh..opq"),
    regular("etc/cron.d/upper-job", b"* * * * * root upper\n"),
    regular("etc/hostname", b"mail\n"),
)


def _layered(tmp_path, kind):
    if kind == "docker-legacy":
        return docker_save(tmp_path / "img.tar", [LOWER, UPPER])
    if kind == "docker-blobs-gzip":
        return docker_save(tmp_path / "img.tar", [LOWER, UPPER], compress=True, legacy=False)
    layout = oci_layout(tmp_path / "layout", {"linux/amd64": [LOWER, UPPER]})
    return layout if kind == "oci-layout" else oci_tar(tmp_path / "oci.tar", layout)


KINDS = ["docker-legacy", "docker-blobs-gzip", "oci-layout", "oci-archive"]


@pytest.fixture
def dest(tmp_path):
    path = tmp_path / "dest"
    path.mkdir()
    return path


# -- layers -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_whiteout_in_an_upper_layer_deletes_the_lower_file(tmp_path, dest, kind):
    host, _ = read_image(_layered(tmp_path, kind), str(dest))
    assert not host.exists("/etc/old-secret")
    assert not any(".wh." in name for name in host.listdir("/etc"))
    assert host.read_text("/etc/passwd") == PASSWD.decode()


@pytest.mark.parametrize("kind", KINDS)
def test_opaque_directory_hides_the_lower_layers_entries(tmp_path, dest, kind):
    host, _ = read_image(_layered(tmp_path, kind), str(dest))
    assert host.listdir("/etc/cron.d") == ["upper-job"]
    assert oct(host.stat("/etc/cron.d").st_mode & 0o7777) == "0o700"
    assert host.read_text("/etc/cron.d/upper-job") == "* * * * * root upper\n"


@pytest.mark.parametrize("kind,detected", [("docker-legacy", "docker-archive"),
                                           ("docker-blobs-gzip", "docker-archive"),
                                           ("oci-layout", "oci-layout"), ("oci-archive", "oci-archive")])
def test_format_is_detected_from_the_content(tmp_path, kind, detected):
    assert detect_image_format(_layered(tmp_path, kind)) == detected


@pytest.mark.parametrize("kind", KINDS)
def test_description_names_format_digest_and_layers(tmp_path, dest, kind):
    _, described = read_image(_layered(tmp_path, kind), str(dest))
    assert described["format"] == {"docker-legacy": "docker-archive", "docker-blobs-gzip": "docker-archive",
                                   "oci-layout": "oci-layout", "oci-archive": "oci-archive"}[kind]
    assert described["digest"].startswith("sha256:") and len(described["digest"]) == 71
    assert [layer["members"] for layer in described["layers"]] == [7, 5]
    assert described["carries"] == ["links", "modes", "owners"]


def test_docker_archive_description_has_the_image_id_and_tags(tmp_path, dest):
    _, described = read_image(docker_save(tmp_path / "img.tar", [LOWER, UPPER]), str(dest))
    assert described["digest"] == f"sha256:{sha(config_of([LOWER, UPPER]))}"
    assert described["repo_tags"] == ["mail:1"] and described["platform"] == "linux/amd64"
    assert [layer["digest"] for layer in described["layers"]] == [f"sha256:{sha(LOWER)}", f"sha256:{sha(UPPER)}"]


def test_file_under_a_directory_kept_from_a_lower_layer_survives_an_opaque_parent(tmp_path, dest):
    lower = tar_bytes(directory("srv/keep"), regular("srv/keep/old", b"old"), regular("srv/gone", b"x"))
    upper = tar_bytes(regular("srv/.wh..wh..opq"), regular("srv/keep/new", b"new"))
    host, _ = read_image(docker_save(tmp_path / "img.tar", [lower, upper]), str(dest))
    assert host.listdir("/srv") == ["keep"] and host.listdir("/srv/keep") == ["new"]


# -- platforms --------------------------------------------------------------------------------
def _multi(tmp_path):
    arm = tar_bytes(regular("etc/hostname", b"arm\n"))
    amd = tar_bytes(regular("etc/hostname", b"amd\n"))
    return oci_layout(tmp_path / "multi", {"linux/arm64": [arm], "linux/amd64": [amd]})


def test_multi_platform_index_takes_the_platform_asked_for(tmp_path, dest):
    host, described = read_image(_multi(tmp_path), str(dest), platform="linux/arm64")
    assert host.read_text("/etc/hostname") == "arm\n" and described["platform"] == "linux/arm64"


def test_multi_platform_index_defaults_to_this_machines_platform(tmp_path, dest):
    if default_platform() not in ("linux/amd64", "linux/arm64"):
        pytest.skip(f"the test image has no {default_platform()}")
    host, _ = read_image(_multi(tmp_path), str(dest))
    assert host.read_text("/etc/hostname") == default_platform().split("/")[1][:3] + "\n"


def test_platform_the_index_lacks_is_bad_input_listing_what_it_has(tmp_path, dest):
    with pytest.raises(InputError, match=r"no image for linux/s390x \(it has linux/arm64, linux/amd64\)"):
        read_image(_multi(tmp_path), str(dest), platform="linux/s390x")


# -- bad input: never audited as a root -------------------------------------------------------
def test_blob_whose_digest_does_not_match_is_bad_input(tmp_path, dest):
    layout = tmp_path / "layout"
    oci_layout(layout, {"linux/amd64": [LOWER, UPPER]})
    layer = next(p for p in (layout / "blobs/sha256").iterdir() if p.read_bytes() == gz(UPPER))
    layer.write_bytes(gz(UPPER + b"\0" * 512))
    with pytest.raises(InputError, match=f"does not match the layer's digest sha256:{layer.name}"):
        read_image(str(layout), str(dest))


def test_legacy_layer_not_matching_its_diff_id_is_bad_input(tmp_path, dest):
    image = docker_save(tmp_path / "img.tar", [LOWER, UPPER])
    tampered = tmp_path / "tampered.tar"
    with tarfile.open(image) as source, tarfile.open(tampered, "w") as out:
        for member in source:
            data = source.extractfile(member).read()
            if member.name.endswith("layer.tar") and data == UPPER:
                data = tar_bytes(regular("etc/hostname", b"evil\n"))
                member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    with pytest.raises(InputError, match=f"does not match its diff_id sha256:{sha(UPPER)}"):
        read_image(str(tampered), str(dest))


def test_manifest_naming_a_missing_blob_is_bad_input(tmp_path, dest):
    missing = "blobs/sha256/" + "0" * 64
    image = docker_save(tmp_path / "img.tar", [LOWER], legacy=False,
                        manifest=[{"Config": f"blobs/sha256/{sha(config_of([LOWER]))}", "Layers": [missing]}])
    with pytest.raises(InputError, match=f"names '{missing}', which the archive does not hold"):
        read_image(image, str(dest))


def test_config_whose_digest_does_not_match_its_name_is_bad_input(tmp_path, dest):
    name = "f" * 64 + ".json"
    image = docker_save(tmp_path / "img.tar", [LOWER],
                        manifest=[{"Config": name, "Layers": [f"{sha(LOWER)}/layer.tar"]}],
                        extra=[(name, config_of([LOWER]))])
    with pytest.raises(InputError, match="config .* does not match its digest sha256:f{64}"):
        read_image(image, str(dest))


def test_tar_that_looks_like_an_image_archive_but_is_malformed_is_bad_input(tmp_path, dest):
    image = tmp_path / "img.tar"
    with tarfile.open(image, "w") as archive:
        _add(archive, "blobs/sha256/" + sha(LOWER), LOWER)
        _add(archive, "index.json", b"{}")
    with pytest.raises(InputError, match="looks like an image archive .* found: blobs, index.json"):
        read_image(str(image), str(dest))


def test_manifest_that_is_not_json_is_bad_input(tmp_path, dest):
    image = tmp_path / "img.tar"
    with tarfile.open(image, "w") as archive:
        _add(archive, "manifest.json", b"not json")
    with pytest.raises(InputError, match="manifest 'manifest.json' is not JSON"):
        read_image(str(image), str(dest))


@pytest.fixture(params=[False, True], ids=["small-layers-in-memory", "large-layers-streamed"])
def streamed(request, monkeypatch):
    """Compressed archives keep files up to MAX_JSON in memory and read larger ones as layers
    while they stream by; a small MAX_JSON sends the test layers down the second path."""
    import hostaudit.image
    if request.param:
        monkeypatch.setattr(hostaudit.image, "MAX_JSON", 4096)
    return request.param


@pytest.mark.parametrize("compress", [gz, lambda data: __import__("zstandard").ZstdCompressor().compress(data)],
                         ids=["gzip", "zstd"])
def test_compressed_docker_archive_is_read_in_one_pass(tmp_path, dest, streamed, compress):
    image = tmp_path / "img.tar.z"
    image.write_bytes(compress(open(docker_save(tmp_path / "img.tar", [LOWER, UPPER]), "rb").read()))
    host, described = read_image(str(image), str(dest))
    assert described["format"] == "docker-archive" and described["compression"] in ("gzip", "zstd")
    assert host.listdir("/etc/cron.d") == ["upper-job"] and not host.exists("/etc/old-secret")
    assert [layer["digest"] for layer in described["layers"]] == [f"sha256:{sha(LOWER)}", f"sha256:{sha(UPPER)}"]


def test_compressed_oci_archive_is_read_in_one_pass(tmp_path, dest, streamed):
    image = tmp_path / "oci.tar.gz"
    layout = oci_layout(tmp_path / "layout", {"linux/amd64": [LOWER, UPPER]}, compress=False)
    image.write_bytes(gz(open(oci_tar(tmp_path / "oci.tar", layout), "rb").read()))
    assert detect_image_format(str(image)) == "oci-archive+gzip"
    host, described = read_image(str(image), str(dest))
    assert described["format"] == "oci-archive"
    assert host.read_text("/etc/cron.d/upper-job") == "* * * * * root upper\n"


def test_compressed_archive_with_a_tampered_layer_is_bad_input(tmp_path, dest, streamed):
    image = docker_save(tmp_path / "img.tar", [LOWER, UPPER], legacy=False)
    tampered = tmp_path / "tampered.tar"
    with tarfile.open(image) as source, tarfile.open(tampered, "w") as out:
        for member in source:
            data = source.extractfile(member).read()
            if data == UPPER:
                data = UPPER[:-1024] + tar_bytes(regular("etc/evil", b"x"))[:1024]
                member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    packed = tmp_path / "tampered.tar.gz"
    packed.write_bytes(gz(tampered.read_bytes()))
    with pytest.raises(InputError, match=f"does not match the layer's digest sha256:{sha(UPPER)}"):
        read_image(str(packed), str(dest))


def test_compressed_archive_naming_a_missing_layer_is_bad_input(tmp_path, dest, streamed):
    missing = "blobs/sha256/" + "0" * 64
    image = docker_save(tmp_path / "img.tar", [LOWER], legacy=False,
                        manifest=[{"Config": f"blobs/sha256/{sha(config_of([LOWER]))}", "Layers": [missing]}])
    packed = tmp_path / "img.tar.gz"
    packed.write_bytes(gz(open(image, "rb").read()))
    with pytest.raises(InputError, match=f"names '{missing}', which the archive does not hold"):
        read_image(str(packed), str(dest))


def test_rootfs_with_an_image_manifest_at_its_end_is_not_audited_as_a_root(tmp_path, dest):
    members = [regular(f"etc/f{n}", b"x") for n in range(40)] + [regular("manifest.json", b"[]")]
    image = tmp_path / "img.tar"
    image.write_bytes(tar_bytes(*members))
    with pytest.raises(InputError, match="manifest.json is not a list of images"):
        read_image(str(image), str(dest))
    assert os.listdir(dest) == []  # what the first pass kept is gone


def test_directory_that_is_not_an_oci_layout_is_bad_input(tmp_path, dest):
    (tmp_path / "tree/etc").mkdir(parents=True)
    with pytest.raises(InputError, match="not an OCI image layout .* --root"):
        read_image(str(tmp_path / "tree"), str(dest))


def test_layout_blob_that_is_a_symlink_is_refused(tmp_path, dest):
    layout = tmp_path / "layout"
    oci_layout(layout, {"linux/amd64": [LOWER]})
    (tmp_path / "elsewhere").write_text("{}")
    index = json.loads((layout / "index.json").read_text())
    digest = index["manifests"][0]["digest"].split(":")[1]
    (layout / "blobs/sha256" / digest).unlink()
    (layout / "blobs/sha256" / digest).symlink_to(tmp_path / "elsewhere")
    with pytest.raises(InputError, match="a symlink or non-directory on the way is refused"):
        read_image(str(layout), str(dest))


# -- hostile layers: refused, nothing outside the temporary directory touched ------------------
@pytest.mark.parametrize("member", [regular("../evil", b"x"), regular("ABSOLUTE", b"x"),
                                    regular("etc/../../evil", b"x"), regular("../.wh.evil"),
                                    regular("etc/.wh..."), link("evil", "ABSOLUTE", kind=tarfile.LNKTYPE)],
                         ids=["dotdot", "absolute", "inner-dotdot", "whiteout-escape",
                              "whiteout-of-dotdot", "hardlink-out"])
def test_hostile_layer_is_bad_input_and_touches_nothing_outside(tmp_path, dest, member):
    outside = tmp_path / "evil"
    info, data = member
    if info.name == "ABSOLUTE":
        info.name = str(outside)
    if info.linkname == "ABSOLUTE":
        info.linkname = str(outside)
    outside.write_text("untouched")
    image = docker_save(tmp_path / "img.tar", [LOWER, tar_bytes((info, data))])
    with pytest.raises(InputError, match="unsafe member"):
        read_image(image, str(dest))
    assert outside.read_text() == "untouched"
    assert all(name.isdigit() for name in os.listdir(dest))


def test_symlink_out_of_the_root_in_a_layer_resolves_inside_the_image(tmp_path, dest):
    upper = tar_bytes(link("etc/escape", "../../../../../etc/passwd"))
    host, _ = read_image(docker_save(tmp_path / "img.tar", [LOWER, upper]), str(dest))
    assert host.read_text("/etc/escape") == PASSWD.decode()


def test_cli_exit_code_is_2_for_a_digest_mismatch(tmp_path):
    layout = tmp_path / "layout"
    oci_layout(layout, {"linux/amd64": [LOWER]})
    for blob in (layout / "blobs/sha256").iterdir():
        if blob.read_bytes() == gz(LOWER):
            blob.write_bytes(gz(LOWER + b"\0" * 512))
    out = tmp_path / "out"
    out.mkdir()
    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        code = main(["scan", "--image", str(layout), "-o", str(out), "--quiet"])
    assert code == 2 and "does not match the layer's digest" in err.getvalue()
    assert not (out / "report.json").exists()


# -- the same tree in every format ------------------------------------------------------------
def _rich_root(root):
    """A Debian-like merged-/usr tree with a file at every place the probes read."""
    root.symlink("/lib", "usr/lib")
    root.symlink("/bin", "usr/bin")
    root.symlink("/sbin", "usr/sbin")
    root.write("/usr/lib/os-release", 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12"\n')
    root.symlink("/etc/os-release", "../usr/lib/os-release")
    root.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nalias:x:70:70::/var/qmail/alias:/bin/false\n"
               "alice:x:1000:1000::/home/alice:/bin/bash\n")
    root.write("/etc/shadow", "root:*:19000::::::\nalice:!:19000::::::\n", mode=0o640)
    root.write("/etc/group", "root:x:0:\nshadow:x:42:\n")
    root.write("/etc/gshadow", "root:*::\n", mode=0o640)
    root.write("/etc/login.defs", "UID_MIN 1000\nPASS_MAX_DAYS 90\n")
    root.write("/etc/fstab", "/dev/sda1 / ext4 defaults 0 1\n/dev/sda2 /home ext4 nosuid,nodev,usrquota 0 2\n")
    root.write("/home/aquota.user", "")
    root.write("/home/alice/.ssh/authorized_keys", "ssh-ed25519 AAAA\n")
    root.write("/etc/ssh/sshd_config", "PermitRootLogin no\nProtocol 2\n")
    root.write("/usr/sbin/sshd", "\x7fELF OpenSSH_9.2p1 Debian", mode=0o755)
    root.write("/usr/sbin/quotacheck", "\x7fELF", mode=0o755)
    root.write("/usr/sbin/quotaon", "\x7fELF", mode=0o755)
    root.write("/usr/lib/systemd/system/quotaon.service", "[Service]\nExecStart=/sbin/quotaon -aug\n")
    root.write("/usr/lib/systemd/system/ssh.service", "[Service]\nExecStart=/usr/sbin/sshd -D\n")
    root.write("/usr/lib/systemd/system/ssh.service.d/local.conf", "[Service]\nRuntimeDirectory=sshd\n")
    root.symlink("/etc/systemd/system/multi-user.target.wants/ssh.service", "/lib/systemd/system/ssh.service")
    root.symlink("/etc/systemd/system/ctrl-alt-del.target", "/dev/null")
    root.write("/etc/pam.d/su", "auth required pam_wheel.so use_uid\n")
    root.write("/etc/nsswitch.conf", "passwd: files\n")
    root.write("/etc/crontab", "17 * * * * root cd / && run-parts /etc/cron.hourly\n")
    root.write("/etc/cron.d/tripwire", "0 3 * * * root /usr/sbin/tripwire --check\n")
    root.write("/etc/cron.daily/df", "#!/bin/sh\ndf -h\n", mode=0o755)
    root.write("/var/spool/cron/crontabs/root", "0 1 * * * apt-get update\n", mode=0o600)
    root.installed("openssh-server", "quota", "tripwire", "grub-pc", "linux-image-amd64")
    root.write("/boot/grub/grub.cfg", "set superusers=root\nlinux /vmlinuz root=/dev/sda1 ipv6.disable=1\n")
    root.write("/boot/vmlinuz-6.1.0-18-amd64", "kernel")
    root.write("/etc/default/grub", 'GRUB_CMDLINE_LINUX="ipv6.disable=1"\n')
    root.write("/etc/sysctl.conf", "net.ipv4.ip_forward = 0\n")
    root.write("/etc/sysctl.d/10-local.conf", "net.ipv4.tcp_syncookies = 1\n")
    root.write("/etc/iptables/rules.v4", "*filter\n:INPUT DROP [0:0]\nCOMMIT\n")
    root.write("/etc/logrotate.conf", "weekly\nrotate 4\n")
    root.write("/etc/profile", "TMOUT=600\n")
    root.write("/etc/skel/.bash_logout", "rm -f ~/.bash_history\n")
    root.write("/etc/shells", "/bin/bash\n")
    root.write("/etc/hostname", "mail\n")
    root.write("/etc/tripwire/twpol.txt", "/var/qmail -> $(SEC_BIN);\n")
    root.write("/var/qmail/control/databytes", "10000000\n")
    root.write("/var/qmail/rc", "exec env - PATH=/var/qmail/bin qmail-start ./Maildir/\n")
    root.write("/var/qmail/alias/.qmail-root", "&alice\n")
    root.write("/var/qmail/bin/sendmail", "\x7fELF /var/qmail", mode=0o755)
    root.symlink("/usr/sbin/sendmail", "/var/qmail/bin/sendmail")
    root.write("/etc/tcprules/pop.tcp", "127.:allow\n:deny\n")
    root.write("/etc/stunnel/stunnel.conf", "[pop3s]\ncert = /etc/stunnel/stunnel.pem\n")
    root.write("/etc/stunnel/stunnel.pem", "", mode=0o400)
    root.write("/etc/apt/apt.conf.d/20auto-upgrades", 'APT::Periodic::Unattended-Upgrade "1";\n')
    root.mkdir("/var/empty", mode=0o755)
    root.mkdir("/tmp", mode=0o1777)


def _report(spec):
    with open_target(spec) as target:
        report = scan(target, load("gcux-qmail")).report
        missed = list(getattr(target.host, "not_materialised", []))
    return report, missed


def _formats_of(tmp_path, root):
    flat = tmp_path / "flat.tar.gz"
    with tarfile.open(flat, "w:gz") as archive:
        archive.add(str(root.path), arcname=".")
    # Layered: the whole tree plus a leftover, then a layer that whites the leftover out.
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(str(root.path), arcname=".")
        _add(archive, "etc/leftover", b"removed by the next layer\n")
    tree = buffer.getvalue()
    cleanup = tar_bytes(regular("etc/.wh.leftover"))
    return {"flat": str(flat),
            "docker": docker_save(tmp_path / "docker.tar", [tree, cleanup]),
            "oci": oci_layout(tmp_path / "oci", {"linux/amd64": [tree, cleanup]})}


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory):
    """(id -> (status, message)) of the shipped baseline on the same tree in each format,
    and the reads each archive format could not answer."""
    from support import RootBuilder

    tmp_path = tmp_path_factory.mktemp("formats")
    root = RootBuilder(tmp_path / "root")
    _rich_root(root)
    found, missed = {}, {}
    for name, path in _formats_of(tmp_path, root).items():
        report, missed[name] = _report(TargetSpec(image=path))
        found[name] = {r["id"]: (r["status"], r["message"]) for r in report["results"]}
    report, _ = _report(TargetSpec(root=str(root.path)))
    found["root"] = {r["id"]: (r["status"], r["message"]) for r in report["results"]}
    return found, missed


def test_every_file_the_probes_read_is_materialised(verdicts):
    found, missed = verdicts
    assert missed == {"flat": [], "docker": [], "oci": []}
    for name in ("flat", "docker", "oci"):
        assert [i for i, (_, message) in found[name].items() if "not materialised" in message] == []


def test_archive_formats_give_the_same_verdicts(verdicts):
    found, _ = verdicts
    names = ("a root filesystem tarball", "a docker-save archive", "an OCI image layout")

    def same_words(results):
        for name in names:
            results = {i: (status, message.replace(name, "ARCHIVE")) for i, (status, message) in results.items()}
        return results

    assert same_words(found["flat"]) == same_words(found["docker"]) == same_words(found["oci"])


def test_archive_and_root_verdicts_differ_only_where_the_archive_cannot_carry_the_property(verdicts):
    found, _ = verdicts
    differ = {i: (found["root"][i], found["flat"][i]) for i in found["root"] if found["root"][i] != found["flat"][i]}
    assert differ, "the tree is meant to show inode flags the archive cannot carry"
    for control, (_, (status, message)) in differ.items():
        assert status == "not_applicable" and "does not carry inode flags" in message, control
    assert {i.split(".")[0] for i in differ} <= {"files", "mail"}


def test_immutable_flag_on_an_archive_is_not_applicable_with_the_reason(verdicts):
    found, _ = verdicts
    status, message = found["docker"]["files.immutable.passwd"]
    assert status == "not_applicable"
    assert message == ("/etc/passwd: a docker-save archive does not carry inode flags (chattr +i, +a), "
                       "so whether it is immutable is unknown")


def test_quota_enabled_passes_on_an_image_without_a_quota_file_yet(tmp_path):
    image = tmp_path / "img.tar"
    image.write_bytes(tar_bytes(
        regular("etc/fstab", b"/dev/sda2 /home ext4 nosuid,nodev,usrquota 0 2\n"), directory("home"),
        regular("usr/sbin/quotacheck", b"\x7fELF", mode=0o755), regular("usr/sbin/quotaon", b"\x7fELF", mode=0o755),
        regular("lib/systemd/system/quotaon.service", b"[Service]\n")))
    with open_image(str(image)) as (host, _):
        from types import SimpleNamespace

        from support import run_check
        result = run_check("fs.quota.enabled", root=SimpleNamespace(host=host), params={"mount_point": "/home"})
    assert result.status is Status.PASS
    assert "/home: no aquota.user yet (quotacheck creates it at boot)" in [str(e) for e in result.evidence]


def test_reads_patterns_cover_the_files_the_rich_tree_is_read_for():
    assert may_be_read("/usr/lib/systemd/system/ssh.service.d/local.conf")
    assert may_be_read("/var/qmail/alias/.qmail-root") and may_be_read("/home/aquota.user")
    assert not may_be_read("/usr/share/doc/bash/copyright")


def test_platform_without_an_image_is_bad_input(tmp_path):
    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        code = main(["scan", "--root", str(tmp_path), "--platform", "linux/arm64", "-o", str(tmp_path), "--quiet"])
    assert code == 2 and "--platform chooses an image in an --image archive" in err.getvalue()


def test_archive_host_says_what_its_format_carries(tmp_path, dest):
    host, _ = read_image(docker_save(tmp_path / "img.tar", [LOWER]), str(dest))
    assert [p for p in ("owners", "modes", "links", "inode_flags", "mount_table", "quota_state")
            if host.carries(p)] == ["owners", "modes", "links"]
    assert host.not_carried_reason("quota_state") == \
        "a docker-save archive does not carry quota state (whether quota is switched on)"


MINBASE = "/var/tmp/hostaudit-bench/bookworm-minbase"  # bench/audit_bench.py's debootstrap cache


@pytest.mark.slow
def test_debian_minbase_tarball_needs_no_file_that_was_not_materialised(tmp_path):
    if not os.path.isfile(os.path.join(MINBASE, "etc/debian_version")):
        pytest.skip(f"no Debian minbase tree at {MINBASE} (python bench/audit_bench.py makes it)")
    image = tmp_path / "minbase.tar"
    with tarfile.open(image, "w") as archive:
        archive.add(MINBASE, arcname=".")
    report, missed = _report(TargetSpec(image=str(image)))
    assert missed == []
    assert [r["id"] for r in report["results"] if "not materialised" in r["message"]] == []
    assert report["target"]["image_format"]["materialised"]["files"] > 50  # /etc was kept


def test_zstd_layer_in_an_oci_layout_is_applied(tmp_path, dest):
    import zstandard
    layout = tmp_path / "layout"
    blobs = layout / "blobs/sha256"
    blobs.mkdir(parents=True)

    def blob(data, media):
        (blobs / sha(data)).write_bytes(data)
        return {"mediaType": media, "digest": f"sha256:{sha(data)}", "size": len(data)}

    layers = [blob(zstandard.ZstdCompressor().compress(lay), "application/vnd.oci.image.layer.v1.tar+zstd")
              for lay in (LOWER, UPPER)]
    config = blob(config_of([LOWER, UPPER]), "application/vnd.oci.image.config.v1+json")
    manifest = blob(json.dumps({"schemaVersion": 2, "config": config, "layers": layers}).encode(),
                    "application/vnd.oci.image.manifest.v1+json")
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [manifest]}))
    host, described = read_image(str(layout), str(dest))
    assert [layer["compression"] for layer in described["layers"]] == ["zstd", "zstd"]
    assert host.listdir("/etc/cron.d") == ["upper-job"] and not host.exists("/etc/old-secret")
