"""Is the tasks dir on a filesystem where inotify sees nothing (NFS, SMB, sshfs...)?

inotify only reports changes made through the local kernel: edits made on another machine of a
network filesystem never arrive. There the watcher must poll; this module tells when.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Filesystem types whose remote changes inotify cannot see.
NETWORK_FS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smbfs",
        "smb3",
        "ncpfs",
        "afs",
        "9p",
        "ceph",
        "glusterfs",
        "lustre",
        "gpfs",
        "fuse.sshfs",
        "fuse.rclone",
        "fuse.s3fs",
        "fuse.gcsfuse",
        "davfs",
        "fuse.davfs2",
    }
)
#: What polling costs: a change is seen within about one poll interval plus the debounce.
POLL_DELAY_MS = 300


def _unescape(field: str) -> str:
    # /proc/mounts escapes space, tab, newline and backslash as octal.
    return (
        field.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
    )


def filesystem_type(path: Path, mounts_text: str | None = None) -> str | None:
    """The type of the filesystem ``path`` lives on (longest mount point prefix), or None."""
    if mounts_text is None:
        try:
            mounts_text = Path("/proc/mounts").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    target = os.path.realpath(path)
    best: tuple[int, str] | None = None
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point, fstype = _unescape(fields[1]), fields[2]
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and (best is None or len(mount_point) > best[0]):
            best = (len(mount_point), fstype)
    return best[1] if best else None


def needs_polling(path: Path, mounts_text: str | None = None) -> str | None:
    """The network filesystem type when ``path`` must be polled, else None."""
    fstype = filesystem_type(path, mounts_text)
    return fstype if fstype in NETWORK_FS else None
