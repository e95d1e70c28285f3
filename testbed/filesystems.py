"""A small file system of its own for a test's database: filled up, made read-only, freed.

``SmallFilesystem(path, megabytes)`` mounts a tmpfs of that size at ``path`` (root only);
``fill()`` writes a filler file until the file system says it is full, ``free()`` deletes it,
``read_only()`` / ``writable()`` remount it. Mounted in the host's mount namespace before the
daemon starts, so the daemon (``ip netns exec`` copies the mounts as slaves) sees it and its
changes: a remount changes the file system itself, not one view of it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import time
from pathlib import Path
from types import TracebackType

CHUNK = 64 * 1024
# How long a process started with ``ip netns exec`` may take to enter its mount namespace.
NAMESPACE_WAIT_S = 10.0


class FilesystemError(RuntimeError):
    """A mount, remount or unmount failed; the message has the command's output."""


def _mount(*argv: str) -> None:
    done = subprocess.run(list(argv), capture_output=True, text=True, check=False, timeout=30)
    if done.returncode != 0:
        raise FilesystemError(f"{' '.join(argv)} failed: {done.stderr.strip()}")


def mount_problem() -> str | None:
    """None when this process may mount a tmpfs (root), else why not."""
    if os.geteuid() != 0:
        return "needs root to mount a file system for the database"
    return None


class SmallFilesystem:
    """A tmpfs of ``megabytes`` at ``path``, unmounted on exit (lazily, if still busy)."""

    def __init__(self, path: Path, megabytes: int) -> None:
        self.path = Path(path)
        self.megabytes = megabytes
        self.filler = self.path / "filler"
        self._mounted = False

    def __enter__(self) -> SmallFilesystem:
        self.path.mkdir(parents=True, exist_ok=True)
        _mount("mount", "-t", "tmpfs", "-o", f"size={self.megabytes}m,mode=0755", "tmpfs",
               str(self.path))
        self._mounted = True
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._mounted:
            with contextlib.suppress(FilesystemError):
                _mount("umount", "-l", str(self.path))
            self._mounted = False

    def fill(self) -> int:
        """Write the filler until the file system is full; return the bytes written."""
        written = 0
        chunk = b"\0" * CHUNK
        with open(self.filler, "ab", buffering=0) as filler:
            size = len(chunk)
            while size:
                try:
                    written += filler.write(chunk[:size]) or 0
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    size //= 2  # the last blocks: fill them too
        return written

    def free(self) -> None:
        """Delete the filler: the space comes back."""
        self.filler.unlink(missing_ok=True)

    def available(self) -> int:
        """Bytes still free."""
        stat = os.statvfs(self.path)
        return stat.f_bavail * stat.f_frsize

    def read_only(self) -> None:
        _mount("mount", "-o", "remount,ro", str(self.path))

    def writable(self) -> None:
        _mount("mount", "-o", "remount,rw", str(self.path))

    def mount_writable_for(self, pid: int) -> None:
        """In process ``pid``'s mount namespace, clear the mount's own read-only flag and
        leave the file system's: it stays read-only there until ``writable()``.

        A process started in a mount namespace of its own (``ip netns exec``) got a copy of
        the mount with the read-only flag of the moment, and a remount outside never clears
        it. The service does not meet that: systemd bind-mounts its StateDirectory= writable
        in the service's namespace, so there only the file system's flag, which a remount
        changes for every namespace, decides. This gives the lab's daemon that view.
        """
        # ``ip netns exec`` makes the namespace after the process starts: wait for it, or the
        # remount would change the host's view, which the namespace then copies or not.
        deadline = time.monotonic() + NAMESPACE_WAIT_S
        while os.readlink(f"/proc/{pid}/ns/mnt") == os.readlink("/proc/self/ns/mnt"):
            if time.monotonic() > deadline:
                raise FilesystemError(f"process {pid} got no mount namespace of its own")
            time.sleep(0.02)
        _mount("nsenter", "--target", str(pid), "--mount", "mount", "-o", "remount,bind,rw",
               str(self.path))
        options = [line.split()[5] for line in
                   Path(f"/proc/{pid}/mountinfo").read_text().splitlines()
                   if line.split()[4] == str(self.path)]
        if not options or not options[-1].startswith("rw"):
            raise FilesystemError(f"{self.path} is still mounted read-only for process {pid}: "
                                  f"{options}")
