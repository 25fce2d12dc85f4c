"""Network filesystem detection for the automatic polling mode."""

from __future__ import annotations

from pathlib import Path

from bassi_tui.store.fstype import filesystem_type, needs_polling

MOUNTS = """\
/dev/vda / ext4 rw,relatime 0 0
proc /proc proc rw 0 0
server:/export /mnt/nfs nfs4 rw,vers=4.2 0 0
//nas/share /mnt/my\\040share cifs rw 0 0
user@host:/home /mnt/nfs/deeper/ssh fuse.sshfs rw 0 0
"""


def test_longest_mount_point_wins() -> None:
    assert filesystem_type(Path("/home/me/tasks"), MOUNTS) == "ext4"
    assert filesystem_type(Path("/mnt/nfs/tasks"), MOUNTS) == "nfs4"
    assert filesystem_type(Path("/mnt/nfs/deeper/ssh/t"), MOUNTS) == "fuse.sshfs"
    assert filesystem_type(Path("/mnt/nfsx/t"), MOUNTS) == "ext4"  # a prefix, not a parent


def test_escaped_mount_points_and_the_verdict() -> None:
    assert needs_polling(Path("/mnt/my share/tasks"), MOUNTS) == "cifs"
    assert needs_polling(Path("/mnt/nfs"), MOUNTS) == "nfs4"
    assert needs_polling(Path("/srv/tasks"), MOUNTS) is None


def test_the_real_machine_answers(tmp_path: Path) -> None:
    assert filesystem_type(tmp_path) is not None
