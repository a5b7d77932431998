"""The zygote's pipes as the host holds them: length-prefixed JSON frames on its stdout
(`ZygoteFrames`), the first bytes of its stderr (`Tail`: what the box tool said), and both with
its stdin for a zygote started as a subprocess (`ZygotePipes`: the bwrap and process boxes; a
container's come through the engine, `docker._Attached`)."""

from __future__ import annotations

import json
import os
import select
import struct
import subprocess
import threading
import time

MAX_REPORT = 8 * 1024 * 1024


class ZygoteFrames:
    """Length-prefixed JSON frames from the zygote's stdout, read with a deadline from `fd`
    (`read`: the zygote's next bytes once `fd` is readable, b"" at its end, None when what came
    was not the zygote's stdout)."""

    EOF = object()

    def __init__(self, fd: int, read=None) -> None:
        self.fd, self.buf = fd, b""
        self.read = read or (lambda: os.read(fd, 1 << 20))

    def next(self, deadline: float):
        """A frame, None when the deadline passed first, or EOF."""
        while True:
            if len(self.buf) >= 4:
                (size,) = struct.unpack("!I", self.buf[:4])
                if size > MAX_REPORT:
                    return self.EOF
                if len(self.buf) >= 4 + size:
                    body, self.buf = self.buf[4:4 + size], self.buf[4 + size:]
                    try:
                        return json.loads(body)
                    except ValueError:
                        return self.EOF
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                chunk = self.read()
                if chunk == b"":
                    return self.EOF
                self.buf += chunk or b""


class Tail:
    """The first 64 KiB of the zygote's own stderr (the box tool's messages), read in a thread."""

    def __init__(self, stream) -> None:
        self.data = b""
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        while chunk := stream.read1(65536):
            if len(self.data) < 65536:
                self.data += chunk[:65536 - len(self.data)]

    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


class ZygotePipes:
    """A started subprocess whose first process is the zygote: `send` writes its stdin, `frames`
    reads its stdout, `log` is what came on its stderr."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.tail = Tail(proc.stderr)
        self.frames = ZygoteFrames(proc.stdout.fileno())

    def send(self, data: bytes) -> None:
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def log(self) -> str:
        return self.tail.text()
