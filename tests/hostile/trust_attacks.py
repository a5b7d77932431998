"""The trust-border attacks (issue 11) as code a hand-in runs, shared by the attack tests.

Each attack is a snippet for `question_1()` (only the multiple-choice test calls it, and that
test runs first) or for the top of a module. `OUT` finds the runner's output folder the way a
hand-in would (the forked child shares the runner's argv)."""

from __future__ import annotations

OUT = 'import sys\nout = sys.argv[sys.argv.index("--out") + 1]\n'

#: Every other process's stdout (1) or stderr (2) this process can open for writing through
#: /proc: in bwrap none (its init, the runner and the reporter are closed to it), in docker the
#: container's init, whose stdout is the container's.
REACH = """
import os, signal
def reach(fd):
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                found.append(open(f"/proc/{pid}/fd/{fd}", "w"))
            except OSError:
                pass
    return found
"""

#: What the old host would have taken for the multiple-choice test's results: the student's own
#: answers in the runner's header format, with no arrays.
FORGE_MCQ = OUT + """
import json, os
import mc
answers = {f"question_{i}()": {"kind": "value", "type": "str", "value": "b" if i == 1 else
           getattr(mc, f"question_{i}")()} for i in range(1, 6)}
header = {"id": "mcq", "status": "ok", "seconds": 0.1, "outputs": answers}
for name in ("mcq.json", "r-0000000000000000.json"):
    with open(os.path.join(out, name), "w") as f:
        json.dump(header, f)
"""

PLANT_AND_KILL_RUNNER = FORGE_MCQ + """
import signal
os.kill(os.getppid(), signal.SIGKILL)
"""

PLANT_AND_STOP_RUNNER = FORGE_MCQ + """
import signal, time
os.kill(os.getppid(), signal.SIGSTOP)
time.sleep(60)
"""

FOLDERS_FOR_RESULTS = OUT + """
import os
for name in ("mcq.json", "mcq.npz", "mcq.log", "runner.json", "sigmoid_forward.json"):
    os.makedirs(os.path.join(out, name, "deeper"), exist_ok=True)
"""

INTERRUPT_RUNNER = """
import os, signal
for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGPIPE):
    os.kill(os.getppid(), sig)
"""

#: Text a sandbox tool would print, on the sandbox's own stderr (through its init), and the
#: runner interrupted so that it would have exited non-zero.
IMITATE_BWRAP = REACH + """
for err in reach(2):
    err.write("bwrap: Creating new namespace failed: Operation not permitted\\n")
    err.write("docker: Error response from daemon: OCI runtime create failed\\n")
    err.close()
os.kill(os.getppid(), signal.SIGINT)
"""

KILL_REPORTER = """
import os, signal
me, runner = os.getpid(), os.getppid()
for pid in os.listdir("/proc"):
    if pid.isdigit() and int(pid) not in (me, runner):
        try:
            stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat[1]) == runner:
            os.kill(int(pid), signal.SIGKILL)
"""

#: Report lines in the channel's format with made-up MACs, on the sandbox's stdout through its
#: init, naming the planted files; then the test hangs.
FORGE_REPORTS = FORGE_MCQ + REACH + """
import hashlib
body = open(os.path.join(out, "r-0000000000000000.json"), "rb").read()
entry = ["r-0000000000000000.json", hashlib.sha256(body).hexdigest(), len(body)]
report = json.dumps({"k": "test", "id": "mcq", "files": {"json": entry}})
for std in reach(1):
    for mac in ("0" * 64, hashlib.sha256(report.encode()).hexdigest()):
        std.write("\\n\\x1emlpgrade1 " + mac + " " + report + "\\n")
    std.close()
while True:
    pass
"""

#: At the import of hw1/hw1.py (the MLP tests, late in the run): every earlier result file
#: replaced by output built to exhaust a naive reader, then the runner killed so nothing is
#: rewritten.
POISON_RESULTS = OUT + """
import os, signal, struct, zipfile
npy = b"\\x93NUMPY\\x01\\x00" + struct.pack("<H", 118) + (
    b"{'descr': '<f8', 'fortran_order': False, 'shape': (10000000, 1000000), }"
    .ljust(117) + b"\\n")
for name in os.listdir(out):
    path = os.path.join(out, name)
    if name.endswith(".json"):
        open(path, "w").write("[" * 200000 + "]" * 200000)
    elif name.endswith(".npz"):
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("a0.npy", npy)
            for i in range(2000):
                z.writestr(f"m{i}.npy", b"")
open(os.path.join(out, "runner.json"), "w").write("[1, 2, 3]")
os.kill(os.getppid(), signal.SIGKILL)
"""

FLOOD_SANDBOX_STDOUT = REACH + """
for std in reach(1):
    for _ in range(64):
        std.write("x" * 65536)
    std.close()
"""

TERMINAL_ESCAPES = """
raise RuntimeError("\\x1b[2J\\x1b]0;owned\\x07\\u202eevil\\x00 here")
"""

SLEEP_PAST_CPU_LIMIT = "import time\ntime.sleep(4.5)"  # QUICK: 3 s of CPU, 9 s of wall clock

SPEND_CPU = """
import time
end = time.process_time() + 1.2
while time.process_time() < end:
    pass
"""

#: Files a hand-in may hold beside its code that shadow a standard module (or NumPy) if our
#: runner or NumPy imported them.
SHADOWS = {f"hw1/{name}.py": "raise ImportError('the hand-in shadowed a module')\n"
           for name in ("zipfile", "json", "numpy", "io", "struct", "hashlib", "traceback")}

#: Compiling this file (nobody imports it) makes Python 3.11 raise MemoryError.
UNCOMPILABLE = {"hw1/deep.py": "x = " + "-" * 100_000 + "1\n"}
