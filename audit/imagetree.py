"""An image archive's final tree, held in memory, and the Host that reads it.

``ImageTree`` is built from tar members (one flat archive, or the layers of a docker-save
archive or OCI layout applied in order with their whiteouts). Every member becomes a node:
type, the image's own mode and numeric owner, size, mtime, link target. Only regular files a
probe may read (``hostaudit.probes.reads``) have their bytes written, each to a numbered file
in a private directory; nothing else touches the disk, so there are no device nodes, no
symlinks and no image-chosen names on the auditor's machine.

``TreeHost`` answers stat/lstat/listdir/readlink from the tree (links resolved inside the
image, ``..`` never above its root) and opens only those numbered files. A regular file whose
bytes were not kept is refused with ``NotMaterialised``, never reported absent.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat as _stat
import tarfile
from collections.abc import Iterator
from pathlib import PurePosixPath

from hostaudit.errors import FileTooLarge, InputError, NotCarried, NotMaterialised
from hostaudit.host import _MAX_SYMLINK_HOPS, ImageHost, WalkNotes, _refuse_special

# Linux limits (linux/limits.h): a name the kernel could not hold is not a real image.
PATH_MAX = 4096
NAME_MAX = 255
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
# GNU sparse members (``tar --sparse``, common for /var/log/lastlog) are regular files whose
# holes tarfile reads back as zeros.
_TYPES = {tarfile.REGTYPE: _stat.S_IFREG, tarfile.AREGTYPE: _stat.S_IFREG,
          tarfile.CONTTYPE: _stat.S_IFREG, tarfile.GNUTYPE_SPARSE: _stat.S_IFREG,
          tarfile.DIRTYPE: _stat.S_IFDIR,
          tarfile.SYMTYPE: _stat.S_IFLNK, tarfile.CHRTYPE: _stat.S_IFCHR,
          tarfile.BLKTYPE: _stat.S_IFBLK, tarfile.FIFOTYPE: _stat.S_IFIFO}
_DEVICE = 0  # st_dev of every node: one image, one filesystem
# The largest file kept for probes (the largest they read: an rpm database), and the
# Node.blob of one that was larger: reading it is FileTooLarge, with its size.
MAX_KEPT_FILE = 1024**3
TOO_LARGE = -1


class Node:
    """One inode of the image. A hard link is the same Node under a second name."""

    __slots__ = ("mode", "uid", "gid", "size", "mtime", "target", "children", "blob", "ino",
                 "layer", "nlink")

    def __init__(self, mode: int, uid: int, gid: int, size: int, mtime: float, ino: int,
                 layer: int, target: str | None = None):
        self.mode, self.uid, self.gid, self.size, self.mtime = mode, uid, gid, size, mtime
        self.ino, self.layer, self.target, self.nlink = ino, layer, target, 1
        self.children: dict[str, Node] | None = {} if _stat.S_ISDIR(mode) else None
        self.blob: int | None = None

    def stat_result(self) -> os.stat_result:
        """The image's stat(2) of this node."""
        mtime = float(self.mtime)
        return os.stat_result(
            (self.mode, self.ino, _DEVICE, self.nlink, self.uid, self.gid, self.size,
             int(mtime), int(mtime), int(mtime)),
            {"st_atime": mtime, "st_mtime": mtime, "st_ctime": mtime,
             "st_atime_ns": int(mtime * 1e9), "st_mtime_ns": int(mtime * 1e9),
             "st_ctime_ns": int(mtime * 1e9)})


def shown(name: str) -> str:
    """A member name for a message: overlong names are cut, with their length."""
    if len(name) <= 120:
        return repr(name)
    return f"{name[:120]!r}... ({len(os.fsencode(name))} bytes)"


def safe_parts(name: str, where: str) -> tuple[str, ...]:
    """Path components of a member name relative to the root ('./' dropped); refuse escapes
    and names Linux could not hold."""
    parts = tuple(p for p in name.split("/") if p and p != ".")
    if name.startswith("/") or ".." in parts:
        raise InputError(f"unsafe member {shown(name)}: absolute or '..' path would leave the "
                         "image root; the whole image is refused", where=where)
    for part in parts:
        # UTF-8 needs at most 4 bytes a character: shorter names cannot exceed NAME_MAX.
        if len(part) > NAME_MAX // 4 and len(os.fsencode(part)) > NAME_MAX:
            raise InputError(f"member {shown(name)}: a name component is longer than NAME_MAX "
                             f"({NAME_MAX} bytes)", where=where)
    if len(name) >= PATH_MAX // 4 and len(os.fsencode("/".join(parts))) >= PATH_MAX:
        raise InputError(f"member {shown(name)}: the path is longer than PATH_MAX ({PATH_MAX} "
                         "bytes)", where=where)
    return parts


class ImageTree:
    """The final tree of an image, built member by member; see the module docstring."""

    def __init__(self):
        self._next_ino = 1
        self.root = self._node(_stat.S_IFDIR | 0o755, 0, 0, 0, 0.0, layer=0)
        self.members = 0

    def _node(self, mode, uid, gid, size, mtime, *, layer, target=None) -> Node:
        self._next_ino += 1
        return Node(mode, uid, gid, size, mtime, self._next_ino, layer, target)

    # -- building -------------------------------------------------------------------------------
    def parent_of(self, parts: tuple[str, ...], name: str, layer: int, where: str, *,
                  create: bool = True) -> Node | None:
        """The directory that holds ``parts[-1]``; missing ones are made (0755 root, as tar
        and the layer appliers make them) when ``create``, else None is returned. A symlink
        or file on the way is refused."""
        current = self.root
        if create:
            current.layer = max(current.layer, layer)
        for depth, part in enumerate(parts[:-1]):
            child = current.children.get(part)
            if child is None:
                if not create:
                    return None
                child = self._node(_stat.S_IFDIR | 0o755, 0, 0, 0, 0.0, layer=layer)
                current.children[part] = child
            elif _stat.S_ISLNK(child.mode):
                raise InputError(f"unsafe member {shown(name)}: its parent "
                                 f"{'/'.join(parts[:depth + 1])!r} is a symlink, writing through "
                                 "it could leave the image root", where=where)
            elif not _stat.S_ISDIR(child.mode):
                raise InputError(f"member {shown(name)}: its parent "
                                 f"{'/'.join(parts[:depth + 1])!r} is not a directory", where=where)
            if create:  # this layer has content below: an opaque marker of this layer keeps it
                child.layer = max(child.layer, layer)
            current = child
        return current

    def add(self, member: tarfile.TarInfo, parts: tuple[str, ...], layer: int, where: str) -> Node | None:
        """Put one member in the tree (replacing what a lower layer or earlier member had
        there); returns the node, or None for a hard link (it shares its target's node)."""
        self.members += 1
        if not parts:  # the root entry "./": its metadata is the image's "/"
            if not member.isdir():
                raise InputError(f"unsafe member {member.name!r}: the root is not a directory",
                                 where=where)
            self.root.mode = _stat.S_IFDIR | _stat.S_IMODE(member.mode)
            self.root.uid, self.root.gid, self.root.mtime = member.uid, member.gid, member.mtime
            return self.root
        parent = _directory(self.parent_of(parts, member.name, layer, where))
        name = parts[-1]
        existing = _entries(parent).get(name)
        if member.islnk():
            source = self.hard_link_source(member, where)
            source.nlink += 1
            self._replace(parent, name, source)
            return None
        kind = _TYPES[member.type]
        if kind == _stat.S_IFDIR and existing is not None and _stat.S_ISDIR(existing.mode):
            # A directory entry over a directory keeps its contents (tar and overlayfs alike).
            existing.mode = kind | _stat.S_IMODE(member.mode)
            existing.uid, existing.gid, existing.mtime = member.uid, member.gid, member.mtime
            existing.layer = layer
            return existing
        if kind == _stat.S_IFLNK:
            if len(os.fsencode(member.linkname)) >= PATH_MAX:
                raise InputError(f"member {shown(member.name)}: symlink target is longer than "
                                 f"PATH_MAX ({PATH_MAX} bytes)", where=where)
            mode = kind | 0o777  # Linux has no symlink modes, whatever the tar says
        else:
            mode = kind | _stat.S_IMODE(member.mode)
        size = member.size if kind == _stat.S_IFREG else 0
        node = self._node(mode, member.uid, member.gid, size, member.mtime, layer=layer,
                          target=member.linkname if kind == _stat.S_IFLNK else None)
        self._replace(parent, name, node)
        return node

    @staticmethod
    def _replace(parent: Node, name: str, node: Node) -> None:
        old = _entries(parent).get(name)
        if old is not None and old is not node:
            old.nlink -= 1
        _entries(parent)[name] = node

    def hard_link_source(self, member: tarfile.TarInfo, where: str) -> Node:
        """The regular file a hard link names: a path already in the tree, no link followed."""
        try:
            parts = safe_parts(member.linkname, where)
        except InputError as exc:
            raise InputError(f"unsafe member {shown(member.name)}: hard link target "
                             f"{shown(member.linkname)} is outside the image", where=where) from exc
        node = self.root
        for part in parts:
            node = node.children.get(part) if node.children is not None else None
            if node is None:
                break
        if node is None or not _stat.S_ISREG(node.mode):
            raise InputError(f"unsafe member {shown(member.name)}: hard link target "
                             f"{shown(member.linkname)} is not a regular file in the image",
                             where=where)
        return node

    def whiteout(self, parts: tuple[str, ...], layer: int, where: str, name: str) -> None:
        """Apply ``DIR/.wh.NAME`` (delete NAME from lower layers) or ``DIR/.wh..wh..opq``
        (hide everything lower layers put in DIR)."""
        marker = parts[-1]
        if marker == OPAQUE:
            _prune_below(_directory(self.parent_of(parts, name, layer, where)), layer)
            return
        hidden = marker[len(WHITEOUT):]
        if hidden in ("", ".", "..") or hidden.startswith(WHITEOUT):
            raise InputError(f"unsafe member {shown(name)}: whiteout of {hidden!r} is not a "
                             "name in its directory", where=where)
        parent = self.parent_of(parts, name, layer, where, create=False)
        if parent is None:
            return
        old = _entries(parent).get(hidden)
        if old is not None and old.layer < layer:
            old.nlink -= 1
            del _entries(parent)[hidden]


def _directory(node: Node | None) -> Node:
    """``parent_of`` with ``create`` always gives a directory; None there is a bug."""
    if node is None:
        raise RuntimeError("parent_of(create=True) found no directory")
    return node


def _entries(node: Node) -> dict[str, Node]:
    """A directory node's entries; asking a file for entries is a bug, not input."""
    if node.children is None:
        raise RuntimeError("entries of a node that is not a directory")
    return node.children


def _prune_below(directory: Node, layer: int) -> None:
    """Drop what layers below ``layer`` put in ``directory``, at any depth."""
    for name, child in list(_entries(directory).items()):
        if child.layer < layer:
            child.nlink -= 1
            del _entries(directory)[name]
        elif child.children is not None:
            _prune_below(child, layer)


# What each image format can carry, for ``Host.carries``.
ARCHIVE_CARRIES = frozenset({"owners", "modes", "links"})


class TreeHost(ImageHost):
    """An image read from an archive: metadata from ``tree``, file bytes from ``blob_dir``.

    ``format_name`` ("a docker-save archive"...) says in not_applicable reasons which format
    could not carry a property.
    """

    def __init__(self, tree: ImageTree, blob_dir: str, *, format_name: str,
                 carries: frozenset = ARCHIVE_CARRIES):
        super().__init__(blob_dir)
        self.tree = tree
        self.format_name = format_name
        self.carried = frozenset(carries)
        # Paths a probe tried to read whose bytes were not kept (the coverage test reads it).
        self.not_materialised: list[str] = []

    # -- metadata from the tree ---------------------------------------------------------------
    def _resolve(self, path: str, *, follow: bool) -> Node:
        """The node at ``path``, symlinks resolved inside the image (the last one only when
        ``follow``). Raises FileNotFoundError, NotADirectoryError or ELOOP like the kernel."""
        parts = [p for p in PurePosixPath("/", path).parts[1:] if p not in ("", ".")]
        stack = [self.tree.root]
        hops = 0
        while parts:
            part = parts.pop(0)
            if part in ("", "."):
                continue
            current = stack[-1]
            if current.children is None:
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path)
            if part == "..":
                if len(stack) > 1:
                    stack.pop()
                continue
            child = current.children.get(part)
            if child is None:
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
            if _stat.S_ISLNK(child.mode) and (parts or follow):
                hops += 1
                if hops > _MAX_SYMLINK_HOPS:
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
                if child.target.startswith("/"):
                    stack = [self.tree.root]
                parts = [p for p in child.target.split("/") if p] + parts
                continue
            stack.append(child)
        return stack[-1]

    def stat(self, path: str) -> os.stat_result:
        return self._resolve(path, follow=True).stat_result()

    def lstat(self, path: str) -> os.stat_result:
        return self._resolve(path, follow=False).stat_result()

    def readlink(self, path: str) -> str:
        node = self._resolve(path, follow=False)
        if not _stat.S_ISLNK(node.mode) or node.target is None:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL), path)
        return node.target

    def listdir(self, path: str) -> list[str]:
        node = self._resolve(path, follow=True)
        if node.children is None:
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path)
        return sorted(node.children)

    def walk(self, top: str, *, prune=frozenset(), notes: WalkNotes | None = None,
             ) -> Iterator[tuple[str, os.stat_result]]:
        """Every entry of the image from ``top`` down, from the tree (see :meth:`Host.walk`):
        symlinks never followed, ``prune`` paths neither yielded nor entered. An image is one
        filesystem and nothing in it is unreadable, so ``notes`` stays empty."""
        node = self._resolve(top, follow=False)
        yield top, node.stat_result()
        stack = [(top.rstrip("/") + "/", node)]
        while stack:
            prefix, directory = stack.pop()
            for name, child in (directory.children or {}).items():
                path = prefix + name
                if path in prune:
                    continue
                yield path, child.stat_result()
                if child.children is not None:
                    stack.append((path + "/", child))

    # -- bytes from the materialised files ------------------------------------------------------
    def _blob_path(self, node: Node) -> str:
        return os.path.join(self.root, str(node.blob))

    @contextlib.contextmanager
    def open_file(self, path: str, *, directory_ok: bool = False):
        node = self._resolve(path, follow=True)
        info = node.stat_result()
        _refuse_special(path, info, directory_ok)
        if not _stat.S_ISREG(node.mode):
            raise NotCarried(path, f"{self.format_name} has no file descriptor for a directory")
        if node.blob is None:
            self.not_materialised.append(path)
            raise NotMaterialised(path)
        if node.blob == TOO_LARGE:
            raise FileTooLarge(path, node.size, MAX_KEPT_FILE)
        fd = os.open(self._blob_path(node), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            yield fd, info
        finally:
            os.close(fd)

    def real_path(self, path: str) -> str:
        """The file holding a materialised regular file's bytes (for a program of the
        auditor's that must open it by name); a path that does not exist otherwise."""
        try:
            node = self._resolve(path, follow=True)
        except OSError:
            node = None
        if node is not None and _stat.S_ISREG(node.mode) and node.blob not in (None, TOO_LARGE):
            return self._blob_path(node)
        return os.path.join(self.root, "absent")

    def attr_flags(self, path: str) -> int:
        self._resolve(path, follow=True)  # absent stays absent
        raise NotCarried(path, self.not_carried_reason("inode_flags"))

    def statvfs(self, path: str) -> os.statvfs_result:
        raise OSError(errno.EOPNOTSUPP, f"{self.format_name} is not a mounted filesystem", path)

    def describe(self) -> dict:
        return {"mode": self.mode, "root": None, "os": self.os_release()}
