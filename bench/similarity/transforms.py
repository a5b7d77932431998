"""What copiers do to a hand-in, each at three levels of effort (1 light, 2 more, 3 thorough).

Each transformation takes the hand-in's sources (path → text) and returns new sources that still
pass the homework's tests. Text-level ones (comments, rename, reorder, deadcode) keep the rest of
the formatting as it was; `reformat` and `rewrite` go through `ast.unparse`.
"""

from __future__ import annotations

import ast
import builtins
import io
import keyword
import random
import re
import tokenize

# Names the course's tests and the student's own modules use: renaming them breaks the hand-in.
CONTRACT = set("""Activation Identity Sigmoid Tanh ReLU Criterion SoftmaxCrossEntropy Linear
BatchNorm MLP state forward derivative backward logits labels loss sm W b dW db momentum_W
momentum_b eps
alpha gamma beta dgamma dbeta mean var running_mean running_var norm x out train_mode
num_bn_layers bn nlayers input_size output_size activations criterion lr momentum linear_layers
bn_layers zero_grads step train eval get_training_stats question_1 question_2 question_3
question_4 question_5 error total_loss self np numpy sys os activation loss linear batchnorm hw1
mc""".split())
WORDS = ["inp", "tmp", "val", "res", "acc", "buf", "arr", "z", "h", "mat", "vec", "grad_in",
         "result", "data", "temp", "foo", "q", "item", "cur", "nxt"]


def _bound(sources: dict[str, str]) -> tuple[set[str], set[str]]:
    """(local names and defs, attributes) the hand-in binds itself."""
    names, attrs = set(), set()
    for text in sources.values():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                attrs.add(node.attr)
    keep = CONTRACT | set(dir(builtins)) | set(keyword.kwlist)
    dunder = {n for n in names | attrs if n.startswith("__")}
    return names - keep - dunder, attrs - keep - dunder


def rename(sources: dict[str, str], effort: int, rng: random.Random) -> dict[str, str]:
    """1: a third of the local names; 2: all of them; 3: also attributes and helpers' names."""
    names, attrs = _bound(sources)
    pool = sorted(names) if effort >= 2 else sorted(rng.sample(sorted(names), len(names) // 3))
    mapping = {n: f"{rng.choice(WORDS)}{i}" for i, n in enumerate(pool)}
    attr_map = ({a: f"my_{rng.choice(WORDS)}{i}" for i, a in enumerate(sorted(attrs))}
                if effort >= 3 else {})
    defs = {n.name for text in sources.values() for n in ast.walk(ast.parse(text))
            if isinstance(n, ast.FunctionDef)}
    attr_map.update({d: mapping[d] for d in defs if d in mapping})  # `self.helper()` calls
    return {path: _rename_text(text, mapping, attr_map) for path, text in sources.items()}


def _rename_text(text: str, mapping: dict[str, str], attr_map: dict[str, str]) -> str:
    out, after_dot = [], False
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        string = tok.string
        if tok.type == tokenize.NAME:
            string = (attr_map if after_dot else mapping).get(string, string)
        out.append((tok.type, string))
        after_dot = tok.type == tokenize.OP and tok.string == "."
    return tokenize.untokenize(out)


def comments(sources: dict[str, str], effort: int, rng: random.Random) -> dict[str, str]:
    """Comment lines and blank lines added (1: some, 2: many, 3: many, old comments gone)."""
    chance = {1: 0.15, 2: 0.4, 3: 0.6}[effort]
    notes = ["# compute the result", "# TODO check this", "# my own implementation",
             "# vectorised", "# see lecture 3", "# helper step", "# update", "# done"]
    out = {}
    for path, text in sources.items():
        lines = []
        starts = {n.lineno for n in ast.walk(ast.parse(text)) if isinstance(n, ast.stmt)}
        for number, line in enumerate(text.splitlines(), 1):
            if effort >= 3 and line.lstrip().startswith("#"):
                continue
            if number in starts and rng.random() < chance:
                indent = line[: len(line) - len(line.lstrip())]
                lines.append(indent + rng.choice(notes))
                if rng.random() < 0.5:
                    lines.append("")
            lines.append(line)
        out[path] = "\n".join(lines) + "\n"
    return out


def reformat(sources: dict[str, str], effort: int, rng: random.Random) -> dict[str, str]:
    """1: two-space indents; 2: re-printed (as a formatter would); 3: re-printed, three-space
    indents, parenthesized right-hand sides and a blank line after every statement."""
    out = {}
    for path, text in sources.items():
        if effort >= 2:
            text = ast.unparse(ast.parse(text)) + "\n"
        width = {1: 2, 2: 4, 3: 3}[effort]
        lines = []
        for line in text.splitlines():
            stripped = line.lstrip(" ")
            depth = (len(line) - len(stripped)) // 4
            whole = effort >= 3 and _one_statement(stripped)
            node = ast.parse(stripped).body[0] if whole else None
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                stripped = re.sub(r"^([A-Za-z_][\w.]*) = (.+)$", r"\1 = (\2)", stripped)
            lines.append(" " * (width * depth) + stripped)
            if whole:
                lines.append("")
        out[path] = "\n".join(lines) + "\n"
    return out


def _movable(stmt: ast.stmt, body: list[ast.stmt]) -> bool:
    """Functions, and classes that neither extend nor are extended by a class of this body."""
    if isinstance(stmt, ast.FunctionDef):
        return True
    if not isinstance(stmt, ast.ClassDef):
        return False
    local = {n.name for n in body if isinstance(n, ast.ClassDef)}
    extends = {b.id for b in stmt.bases if isinstance(b, ast.Name)} & local
    extended = any(isinstance(n, ast.ClassDef) and any(
        isinstance(b, ast.Name) and b.id == stmt.name for b in n.bases) for n in body)
    return not extends and not extended


def _one_statement(line: str) -> bool:
    try:
        body = ast.parse(line).body
    except SyntaxError:
        return False
    return len(body) == 1 and isinstance(body[0], (ast.Assign, ast.Expr, ast.Return))


def _chunks(lines: list[str], body: list[ast.stmt], end: int) -> list[tuple[int, int, bool]]:
    """(start, stop, movable) line spans (0-based, stop exclusive) of a body's statements."""
    spans = []
    for i, stmt in enumerate(body):
        start = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])]) - 1
        stop = (min([body[i + 1].lineno] + [d.lineno for d in
                                            getattr(body[i + 1], "decorator_list", [])]) - 1
                if i + 1 < len(body) else end)
        spans.append((start, stop, _movable(stmt, body)))
    return spans


def _shuffle_body(lines: list[str], body: list[ast.stmt], end: int, rng: random.Random) -> None:
    spans = _chunks(lines, body, end)
    movable = [s for s in spans if s[2]]
    texts = [lines[a:b] for a, b, _ in movable]
    rng.shuffle(texts)
    new, moved = [], iter(texts)
    for a, b, can in spans:
        chunk = next(moved) if can else lines[a:b]
        if chunk and chunk[-1].strip():
            chunk = [*chunk, ""]
        new.extend(chunk)
    first, last = spans[0][0], spans[-1][1]
    lines[first:last] = new


def reorder(sources: dict[str, str], effort: int, rng: random.Random) -> dict[str, str]:
    """1: methods of one class; 2: methods of every class; 3: also classes and functions."""
    out = {}
    for path, text in sources.items():
        tree = ast.parse(text)
        lines = text.splitlines()
        classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and len(n.body) > 1]
        if effort == 1:
            classes = classes[-1:]
        for node in sorted(classes, key=lambda n: -n.lineno):  # bottom up: spans stay valid
            _shuffle_body(lines, node.body, node.end_lineno, rng)
        text = "\n".join(lines) + "\n"
        if effort >= 3:
            tree = ast.parse(text)
            lines = text.splitlines()
            _shuffle_body(lines, tree.body, len(lines), rng)
            text = "\n".join(lines) + "\n"
        out[path] = text
    return out


DEAD = ["_unused{n} = [0.0] * 3", "if False:\n    print('debug {n}')",
        "check{n} = 1 + 1", "while False:\n    pass", "for _k{n} in range(0):\n    pass",
        "if 0:\n    scratch{n} = [i * i for i in range(4)]"]


def _insert_points(tree: ast.Module) -> list[tuple[int, int]]:
    """(line index before which to insert, indent) at statement starts inside functions."""
    points = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.body[0].lineno > node.lineno:
            points.extend((stmt.lineno - 1, stmt.col_offset) for stmt in node.body)
    return points


def deadcode(sources: dict[str, str], effort: int, rng: random.Random) -> dict[str, str]:
    """Statements that change nothing, inside functions (1: a few, 2: one per function,
    3: two per function and code after the last return)."""
    per = {1: 0.3, 2: 1.0, 3: 2.0}[effort]
    out, n = {}, 0
    for path, text in sources.items():
        tree = ast.parse(text)
        lines = text.splitlines()
        points = _insert_points(tree)
        count = int(round(per * len(points) / 3)) if effort == 1 else int(per * len(
            [f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)]))
        chosen = rng.sample(points, min(count, len(points)))
        if effort >= 3:
            chosen += [(r.end_lineno, r.col_offset) for f in ast.walk(tree)
                       if isinstance(f, ast.FunctionDef) and isinstance(f.body[-1], ast.Return)
                       and f.body[-1].lineno > f.lineno                       for r in [f.body[-1]]]
        for at, indent in sorted(chosen, reverse=True):
            n += 1
            stmt = rng.choice(DEAD).format(n=n)
            lines[at:at] = [" " * indent + part for part in stmt.split("\n")]
        out[path] = "\n".join(lines) + "\n"
    return out
