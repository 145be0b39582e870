"""Snapshots serialised in a forked child, so a large state never pauses the event loop.

``os.fork()`` at the moment of the snapshot gives the child a copy-on-write image of the core exactly as it
is then (after the sequencer's last command). The child serialises it, writes the bytes to a pipe and leaves
with ``os._exit``: it never runs the parent's event loop, its threads, atexit handlers or finalizers, and
touches nothing but the core's objects (read only) and its end of the pipe. The parent reads the pipe in a
worker thread and reaps the child there, so the loop only pays for the fork itself (page tables: a few ms).
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable

_F_SETPIPE_SZ = 1031  # Linux: a bigger pipe means fewer reads (a snapshot can be hundreds of MB)
_CHUNK = 1 << 20


def fork_available() -> bool:
    return hasattr(os, "fork") and sys.platform.startswith("linux")


class ChildFailed(RuntimeError):
    """The child did not deliver a whole snapshot (it failed, or was killed)."""


class SnapshotChild:
    """One forked child serialising the state it was forked with. ``collect`` (in a worker thread) returns
    its bytes; ``kill`` stops it (at shutdown) without ever signalling a pid that was already reaped."""

    def __init__(self, serialise: Callable[[], bytes]) -> None:
        rfd, wfd = os.pipe()
        try:
            with warnings.catch_warnings():  # Python 3.12+ warns about forking with threads: see _child
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
        except BaseException:
            os.close(rfd)
            os.close(wfd)
            raise
        if pid == 0:  # the child: never returns
            _child(serialise, wfd)
        os.close(wfd)
        self.pid = pid
        self._rfd = rfd
        self._lock = threading.Lock()  # guards reaping against kill: a reaped pid may belong to someone else
        self._reaped = False

    def collect(self) -> bytes:
        """Read the child's output to the end and reap it (blocking: run in a worker thread)."""
        chunks: list[bytes] = []
        try:
            while chunk := os.read(self._rfd, _CHUNK):
                chunks.append(chunk)
        finally:
            os.close(self._rfd)
            with self._lock:
                _, status = os.waitpid(self.pid, 0)
                self._reaped = True
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            how = f"killed by signal {-code}" if code < 0 else f"exited with status {code}"
            raise ChildFailed(f"the snapshot process {how}")
        return b"".join(chunks)

    def kill(self) -> None:
        with self._lock:
            if not self._reaped:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)


def _child(serialise: Callable[[], bytes], wfd: int) -> None:
    """Serialise, write, exit. Only the forking thread exists here; locks other threads of the parent held at
    the fork (the journal writer's, logging's, stdio's) stay held, so nothing here takes them: no logging, no
    print, no journal. The collector is off (no finalizer of the parent's objects runs here)."""
    code = 1
    try:
        gc.disable()
        with contextlib.suppress(ValueError, OSError):  # ValueError: not the main thread (an embedded server)
            for sig in (signal.SIGINT, signal.SIGTERM):  # a Ctrl-C or a stop ends the child, not the parent's loop
                signal.signal(sig, signal.SIG_DFL)
            signal.set_wakeup_fd(-1)
        # the parent's sockets, journal and lock file stay the parent's alone (a closed client connection
        # must not linger here, nor a restart find the listening port held)
        os.closerange(3, wfd)
        os.closerange(wfd + 1, _max_fd())
        with contextlib.suppress(OSError):
            _set_pipe_size(wfd)
        view = memoryview(serialise())
        while view:
            view = view[os.write(wfd, view):]
        code = 0
    except BaseException as exc:  # reported on stderr (raw: no locks); the parent logs the exit
        with contextlib.suppress(BaseException):
            os.write(2, f"paperex: snapshot process failed: {exc!r}\n".encode())
    finally:
        os._exit(code)


def _max_fd() -> int:
    try:
        return min(os.sysconf("SC_OPEN_MAX"), 1 << 20)
    except (ValueError, OSError):
        return 65536


def _set_pipe_size(fd: int) -> None:
    import fcntl

    fcntl.fcntl(fd, _F_SETPIPE_SZ, _CHUNK)
