"""What the in-sandbox runner does once before the first test, so no forked child pays for it:
pre-compiling the hand-in, finding what it imports, and a writable matplotlib font cache.

Staged next to runner.py (grader/run.py copies this folder's modules); standard library only.
"""

import os
import sys


def mentions(root, folders, word):
    """Whether any of the hand-in's Python files mentions `word` (worth importing it up front)."""
    for folder in folders:
        try:
            names = os.listdir(os.path.join(root, folder))
        except OSError:
            continue
        for name in names:
            if name.endswith(".py"):
                try:
                    with open(os.path.join(root, folder, name), "rb") as f:
                        if word.encode() in f.read(1_000_000):
                            return True
                except OSError:
                    pass
    return False


def precompile(root, folders):
    """Compile the hand-in's sources once, here, so no forked child compiles them again.

    Only compiling: nothing of the hand-in runs in the runner itself. A file that does not
    compile is left out, so the child that imports it raises the SyntaxError as usual."""
    import importlib.machinery

    cache = {}
    for folder in folders:
        try:
            names = sorted(os.listdir(os.path.join(root, folder)))
        except OSError:
            continue
        for name in names:
            path = os.path.join(root, folder, name)
            if name.endswith(".py") and os.path.isfile(path):
                try:
                    with open(path, "rb") as f:
                        cache[path] = compile(f.read(), path, "exec", dont_inherit=True)
                except Exception:  # noqa: BLE001 - SyntaxError, RecursionError, MemoryError...
                    pass  # the child that imports it meets the same error, as the student's
    original = importlib.machinery.SourceFileLoader.get_code

    def get_code(self, fullname):
        code = cache.get(self.path)
        return code if code is not None else original(self, fullname)

    importlib.machinery.SourceFileLoader.get_code = get_code


def writable_font_cache():
    """A writable copy of the runtime's prebuilt matplotlib font cache (sys.prefix/mplconfig).

    matplotlib ignores a config folder it cannot write and rebuilds the cache in a temporary
    one (about a second for each hand-in that imports it), and the runtime is read-only in the
    sandbox: so the cache is copied to a fresh folder under /tmp, removed when the runner ends."""
    import atexit
    import shutil
    import tempfile

    target = tempfile.mkdtemp(prefix="mplconfig-")
    atexit.register(shutil.rmtree, target, True)
    prebuilt = os.path.join(sys.prefix, "mplconfig")
    if os.path.isdir(prebuilt):
        shutil.copytree(prebuilt, target, dirs_exist_ok=True)
    return target
