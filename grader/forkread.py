"""A fresh forked child for every read of untrusted bytes, from a warm reader process.

Parsing an upload (tarfile, gzip) is bounded in CPU, memory and wall-clock time only in a process
of its own. Starting an interpreter for each upload costs 60-100 ms, most of a receipt's time, so
each process that reads uploads (an API process, a grading worker) starts one *reader server* on
first use: an interpreter without site packages and with only our source on its path, that has
imported intake once and does nothing but fork. For each read it is handed a socket (SCM_RIGHTS)
and forks a child that sets its limits (CPU, address space, no core, an alarm for the wall
clock), reads the request to its end, answers and exits. A child shares nothing with the next:
each is a fresh fork of a server that never touches upload bytes itself.

A child killed by a limit answers nothing (`call` returns what it got, possibly empty: the
caller decides); the server answers `FORK_FAILED` when it could not fork, which is ours."""

from __future__ import annotations

import importlib
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from grader.errors import InfrastructureError
from grader.settings import host_path

FORK_FAILED = b"!fork failed\n"
PRELOAD = ("grader.intake", "grader.similarity.isolated")
"""The handlers' modules (by name: they call us)."""
ROOT = str(Path(__file__).resolve().parent.parent)

_lock = threading.Lock()
_server: dict[str, object] = {}  # pid, control socket, process: this process's reader server


def call(handler: str, payload: bytes, *, limits: tuple[int, int, int], cap: int) -> bytes:
    """`handler` ("module:function", bytes → bytes) run on `payload` in a fresh child under
    `limits` (cpu seconds, address-space bytes, wall seconds): its answer, at most `cap` bytes
    (InfrastructureError beyond: our own reader never answers that much), b"" when the child
    died without answering."""
    conn = _connect()
    try:
        conn.settimeout(limits[2] + 5)  # the child's alarm ends it first
        header = f"{handler} {limits[0]} {limits[1]} {limits[2]}\n".encode()
        try:
            conn.sendall(header + payload)
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the child died reading: its answer (none) says so
        answer = bytearray()
        while len(answer) <= cap:
            try:
                chunk = conn.recv(min(1 << 20, cap + 1 - len(answer)))
            except TimeoutError:
                return b""
            if not chunk:
                break
            answer += chunk
    finally:
        conn.close()
    if len(answer) > cap:
        raise InfrastructureError(f"the reader answered more than {cap} bytes")
    if answer == FORK_FAILED:
        raise InfrastructureError("the reader server could not fork a child")
    return bytes(answer)


def _connect() -> socket.socket:
    """A socket to a fresh child of this process's reader server (started or restarted here)."""
    for attempt in range(2):
        mine, theirs = socket.socketpair()
        try:
            with _lock:
                control = _control(restart=attempt > 0)
                socket.send_fds(control, [b"r"], [theirs.fileno()])
            return mine
        except OSError as exc:
            mine.close()
            if attempt:
                raise InfrastructureError(f"the reader server is not answering: {exc}") from exc
        finally:
            theirs.close()
    raise AssertionError("unreachable")


def _control(restart: bool) -> socket.socket:
    if _server.get("pid") != os.getpid() or restart:  # a forked process starts its own
        old = _server.get("socket")
        if isinstance(old, socket.socket):
            old.close()
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        code = (f"import sys; sys.path.insert(0, {ROOT!r}); from grader.forkread import serve; "
                f"serve({theirs.fileno()})")
        process = subprocess.Popen(
            [sys.executable, "-S", "-E", "-s", "-c", code], pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, cwd="/",
            env={"PATH": host_path()})
        theirs.close()
        _server.update(pid=os.getpid(), socket=mine, process=process)
    control = _server["socket"]
    assert isinstance(control, socket.socket)
    return control


def serve(fd: int) -> None:
    """The reader server's loop: a child per socket received, until the starter is gone."""
    for module in PRELOAD:  # imported once here, so every child has them warm
        importlib.import_module(module)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the children
    # A terminal's Ctrl-C reaches the whole process group, this server too: it ends when its
    # starter does (the control socket closes), not with a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    control = socket.socket(fileno=fd)
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 1, 4)
        except InterruptedError:
            continue
        if not message:
            return
        for conn in fds:
            try:
                pid = os.fork()
            except OSError:
                os.write(conn, FORK_FAILED)
                os.close(conn)
                continue
            if pid == 0:
                control.close()
                try:
                    _child(conn)
                finally:
                    os._exit(0)
            os.close(conn)


def _child(fd: int) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    conn = socket.socket(fileno=fd)
    stream = conn.makefile("rb")
    handler, cpu, memory, wall = stream.readline().decode().split()
    resource.setrlimit(resource.RLIMIT_CPU, (int(cpu), int(cpu) + 1))
    resource.setrlimit(resource.RLIMIT_AS, (int(memory), int(memory)))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.alarm(int(wall))
    payload = stream.read()
    conn.sendall(_handler(handler)(payload))


def _handler(name: str) -> Callable[[bytes], bytes]:
    module, _, function = name.partition(":")
    return getattr(importlib.import_module(module), function)  # intake's: imported already
