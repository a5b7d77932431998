"""What the warm zygote reads of its box and puts back in it after a job (zygote.py).

The box's writable mounts and their state (`writable_roots`, `snapshot`, `restore`, `empty`),
its System V IPC objects (`remove_ipc`) and, where the box shows its own cgroup (a container),
the cgroup's counters (`counters`). Standard library only (it runs under the student runtime).
"""

import ctypes
import os

SKIP_MOUNTS = ("/proc", "/sys", "/out")  # the kernel's; /out is emptied before each job
#: This box's own cgroup counters, where the box shows them (a docker container does; a bwrap box
#: does not, and its host reads them itself): cgroup v1 files, then v2, (path, key or None).
COUNTERS = {
    "cpu": [("/sys/fs/cgroup/cpuacct/cpuacct.usage", None, 1e-9),
            ("/sys/fs/cgroup/cpu.stat", "usage_usec", 1e-6)],
    "oom_kills": [("/sys/fs/cgroup/memory/memory.oom_control", "oom_kill", 1),
                  ("/sys/fs/cgroup/memory.events", "oom_kill", 1)],
    "pids_max": [("/sys/fs/cgroup/pids/pids.events", "max", 1),
                 ("/sys/fs/cgroup/pids.events", "max", 1)],
}
IPC_RMID = 0


def writable_roots():
    """The writable mounts of the box a hand-in could leave something in."""
    roots = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            point, options = fields[4], fields[5].split(",")
            if "rw" in options and not point.startswith(SKIP_MOUNTS) and point != "/":
                roots.append(point)
    return sorted(set(roots))


def snapshot(roots):
    """path -> what must not change: (inode, mode, ctime) for files, (inode, mode) for folders
    (adding or removing entries changes a folder's ctime; its entries are checked one by one).
    A hand-in can reset a file's mtime but not its ctime."""
    state = {}
    for root in roots:
        for top, dirs, files in os.walk(root):
            for name in [top] + [os.path.join(top, n) for n in dirs + files]:
                st = os.lstat(name)
                if name == top or os.path.isdir(name) and not os.path.islink(name):
                    state[name] = ("d", st.st_ino, st.st_mode)
                else:
                    state[name] = ("f", st.st_ino, st.st_mode, st.st_ctime_ns, st.st_rdev)
    return state


def restore(roots, before):
    """Remove what a job added under `roots` (whatever modes it gave its own folders); False
    when something of `before` changed or cannot be removed."""
    clean = True
    stack = list(roots)
    while stack:
        try:
            with os.scandir(stack.pop()) as listing:
                entries = list(listing)
        except OSError:
            continue  # a root that is a device file (bwrap binds them), not a folder
        for entry in entries:
            is_dir = entry.is_dir(follow_symlinks=False)
            if entry.path in before:
                if is_dir:
                    stack.append(entry.path)
                continue
            try:
                if is_dir:
                    os.chmod(entry.path, 0o700)
                    clean = empty(entry.path) and clean
                    os.rmdir(entry.path)
                else:
                    os.unlink(entry.path)
            except OSError:
                clean = False
    return clean and snapshot(roots) == before


def counters(names=tuple(COUNTERS)):
    """The box's cgroup counters `names` (of CPU seconds, OOM kills, pids.max hits), or None
    where the box shows none. Kernel files a hand-in cannot write: the host takes them from our
    report."""
    found = {}
    for name in names:
        for path, key, scale in COUNTERS[name]:
            try:
                with open(path) as f:
                    text = f.read()
            except OSError:
                continue
            if key is None:
                found[name] = int(text) * scale
            else:
                fields = dict(line.split() for line in text.splitlines() if line.count(" ") == 1)
                found[name] = int(fields[key]) * scale
            break
        else:
            return None
    return found


def remove_ipc():
    """Remove every System V IPC object of the namespace (a warm box keeps its IPC namespace
    from job to job): True when none is left. Creator's uid: ours, so removal is allowed."""
    libc = ctypes.CDLL(None, use_errno=True)
    calls = {"shm": lambda i: libc.shmctl(i, IPC_RMID, None),
             "sem": lambda i: libc.semctl(i, 0, IPC_RMID),
             "msg": lambda i: libc.msgctl(i, IPC_RMID, None)}
    left = False
    for kind, remove in calls.items():
        for _ in range(2):
            try:
                with open(f"/proc/sysvipc/{kind}") as f:
                    ids = [int(line.split()[1]) for line in f.readlines()[1:] if line.strip()]
            except OSError:
                break  # no such listing: nothing of this kind can exist
            for ident in ids:
                remove(ident)
            if not ids:
                break
        else:
            left = True
    return not left


def empty(folder):
    """Empty `folder` (the output area, or a folder a job left), whatever modes a job gave
    what it left there (its entries are our uid's): True when it is empty. No recursion and no
    long paths: a job may nest folders thousands deep (past PATH_MAX), so we walk down by
    relative names, one level at a time, each folder read once."""
    try:
        os.chdir(folder)
        stack = []  # (the folder we went down into, its siblings still to empty)
        pending = _clear_files()
        while True:
            if pending:
                name = pending.pop()
                os.chmod(name, 0o700)
                os.chdir(name)
                stack.append((name, pending))
                pending = _clear_files()
            elif stack:
                name, pending = stack.pop()
                os.chdir("..")
                os.rmdir(name)
            else:
                return True
    except OSError:
        return False
    finally:
        os.chdir("/")


def _clear_files():
    """Unlink every entry of the current folder but its folders; their names."""
    folders = []
    with os.scandir(".") as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                folders.append(entry.name)
            else:
                os.unlink(entry.name)
    return folders
