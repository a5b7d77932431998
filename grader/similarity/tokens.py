"""Normalized token streams of a hand-in's Python files, one stream per function.

Each function or method is a unit (so reordering them changes nothing); a file's statements outside
any function form one more unit. A unit is a list of (token, line). Identifiers the hand-in binds
itself (variables, parameters, attributes it assigns, its functions and classes) all become `V`,
so renaming changes nothing; names it does not bind (`np`, `len`, `.shape`, `axis=`) are kept.
Numbers become `N` and strings `S`. Equivalent forms are emitted one way: the operands of `+ * & |
and or == !=` in a sorted order, `a > b` as `b < a`, `np.dot(a, b)`/`a.dot(b)`/`np.matmul` as
`a @ b`, `np.multiply`-style calls as operators, `x.sum(...)` as `np.sum(x, ...)`, `len(x)` as
`x.shape[0]`, `np.sqrt(x)` as `x ** 0.5`, `if not c: A else: B` as `if c: B else: A`, and
`range(n - 1, -1, -1)` as `reversed(range(n))`. A line that breaks parsing is replaced by `pass`
(up to 20 of them); a file that still does not parse (or is too long or too deeply nested to)
is read statement by statement (`salvage`), and only what still does not parse is compared by its
raw tokens (`lexer`), the reason kept for staff. Hostile text is parsed
here only inside a child under limits (`isolated`).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from grader.similarity.calls import rewrite_call
from grader.similarity.lexer import lex
from grader.similarity.salvage import PARSE_FAILED, Pieces, parse_piece, salvage

Token = tuple[str, int]

_COMMUTATIVE = (ast.Add, ast.Mult, ast.BitAnd, ast.BitOr, ast.BitXor)
_NP_NAMES = {"numpy", "np", "math"}
_SYMMETRIC_CALLS = {"maximum", "minimum"}


@dataclass(frozen=True)
class Unit:
    """One function (or a file's top level) as normalized tokens with their source lines."""

    file: str
    name: str
    tokens: tuple[str, ...]
    lines: tuple[int, ...]


def _bound_names(tree: ast.AST) -> set[str]:
    """Identifiers the code binds: stored names, parameters, assigned attributes, defs."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.alias) and node.asname and node.name not in _NP_NAMES:
            names.add(node.asname)
    return names


def _numpy_aliases(tree: ast.AST) -> set[str]:
    return {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
            for a in n.names if a.name in _NP_NAMES}


class Emitter:
    """Turns statements and expressions into normalized tokens (see the module docstring)."""

    def __init__(self, bound: set[str], numpy: set[str]) -> None:
        self.bound = bound
        self.numpy = numpy | {"np"}
        self.out: list[Token] = []
        self.line = 0

    def tok(self, text: str) -> None:
        self.out.append((text, self.line))

    def name(self, ident: str) -> str:
        if ident in self.numpy:
            return "np"
        return "V" if ident in self.bound else ident

    def sub(self, node: ast.AST) -> list[Token]:
        """The tokens of node on their own (to sort operands by them)."""
        saved, self.out = self.out, []
        self.emit(node)
        tokens, self.out = self.out, saved
        return tokens

    def emit(self, node: ast.AST | None) -> None:
        if node is None:
            return
        if hasattr(node, "lineno"):
            self.line = node.lineno
        method = getattr(self, "e_" + type(node).__name__, None)
        if method is not None:
            method(node)
            return
        if isinstance(node, ast.expr_context):
            return
        if isinstance(node, (ast.operator, ast.unaryop, ast.cmpop,
                             ast.boolop)):
            self.tok(type(node).__name__)
            return
        self.tok(type(node).__name__)
        for child in ast.iter_child_nodes(node):
            self.emit(child)

    def block(self, body: list[ast.stmt]) -> None:
        self.tok("{")
        for stmt in body:
            self.emit(stmt)
        self.tok("}")

    # --- leaves -------------------------------------------------------------------------------
    def e_Name(self, node: ast.Name) -> None:
        self.tok(self.name(node.id))

    def e_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bool) or value is None:
            self.tok(repr(value))
        elif isinstance(value, (int, float, complex)):
            self.tok("N")
        else:
            self.tok("S")

    def e_Attribute(self, node: ast.Attribute) -> None:
        if node.attr == "T" or (isinstance(node.value, ast.Name) and node.value.id in self.numpy):
            self.emit(node.value)
            self.tok("." + node.attr)
            return
        self.emit(node.value)
        self.tok("." + ("V" if node.attr in self.bound else node.attr))

    def e_keyword(self, node: ast.keyword) -> None:
        self.tok(f"{self.name(node.arg) if node.arg else '**'}=")
        self.emit(node.value)

    # --- expressions --------------------------------------------------------------------------
    def operands(self, op: type, items: list[ast.AST], commutative: bool) -> None:
        parts = [self.sub(item) for item in items]
        if commutative:
            parts.sort(key=lambda tokens: [t for t, _ in tokens])
        self.tok(op.__name__ + "(")
        for part in parts:
            self.out.extend(part)
            self.tok(",")
        self.tok(")")

    def e_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, _COMMUTATIVE):
            self.operands(type(node.op), _flatten(node, type(node.op)), True)
        else:
            self.operands(type(node.op), [node.left, node.right], False)

    def e_BoolOp(self, node: ast.BoolOp) -> None:
        self.operands(type(node.op), list(node.values), True)

    def e_Compare(self, node: ast.Compare) -> None:
        if len(node.ops) == 1:
            op, left, right = node.ops[0], node.left, node.comparators[0]
            flipped = {ast.Gt: ast.Lt, ast.GtE: ast.LtE}.get(type(op))
            if flipped is not None:
                op, left, right = flipped(), right, left
            self.operands(type(op), [left, right], isinstance(op, (ast.Eq, ast.NotEq)))
            return
        self.tok("Compare")
        for child in ast.iter_child_nodes(node):
            self.emit(child)

    def e_IfExp(self, node: ast.IfExp) -> None:
        test, body, orelse = _unnot(node.test, node.body, node.orelse)
        self.tok("IfExp")
        for part in (test, body, orelse):
            self.emit(part)

    def e_Call(self, node: ast.Call) -> None:
        replaced = rewrite_call(node, self.numpy)
        if replaced is not None:
            self.emit(replaced)
            return
        func = node.func
        self.emit(func)
        args = [self.sub(a) for a in node.args]
        if (isinstance(func, ast.Attribute) and func.attr in _SYMMETRIC_CALLS
                and isinstance(func.value, ast.Name) and func.value.id in self.numpy):
            args.sort(key=lambda tokens: [t for t, _ in tokens])
        self.tok("(")
        for arg in args:
            self.out.extend(arg)
            self.tok(",")
        for kw in sorted(node.keywords, key=lambda k: k.arg or ""):
            self.emit(kw)
        self.tok(")")

    # --- statements ---------------------------------------------------------------------------
    def e_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.tok("def")
        self.tok(str(len(node.args.args)))
        self.block(node.body)

    e_AsyncFunctionDef = e_FunctionDef

    def e_If(self, node: ast.If) -> None:
        test, body, orelse = node.test, node.body, node.orelse
        if orelse:
            test, body, orelse = _unnot(test, body, orelse)
        self.tok("if")
        self.emit(test)
        self.block(body)
        if orelse:
            self.tok("else")
            self.block(orelse)

    def e_For(self, node: ast.For) -> None:
        self.tok("for")
        self.emit(node.target)
        self.emit(node.iter)
        self.block(node.body)

    def e_While(self, node: ast.While) -> None:
        self.tok("while")
        self.emit(node.test)
        self.block(node.body)

    def e_Import(self, node: ast.AST) -> None:
        """Imports are not code anyone writes: left out."""

    e_ImportFrom = e_Import


def _flatten(node: ast.AST, op: type) -> list[ast.AST]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, op):
        return _flatten(node.left, op) + _flatten(node.right, op)
    return [node]


def _unnot(test: ast.expr, body, orelse):
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return test.operand, orelse, body
    return test, body, orelse


def _units_of_tree(path: str, tree: ast.Module, emitter: Emitter) -> list[Unit]:
    units: list[Unit] = []
    top: list[ast.stmt] = []

    def walk(body: list[ast.stmt], prefix: str) -> None:
        for stmt in body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                units.append(_unit(path, prefix + stmt.name, [stmt], emitter))
            elif isinstance(stmt, ast.ClassDef):
                walk(stmt.body, prefix + stmt.name + ".")
            else:
                top.append(stmt)

    walk(tree.body, "")
    if top:
        units.append(_unit(path, "<top>", top, emitter))
    return [u for u in units if u.tokens]


def _unit(path: str, name: str, body: list[ast.stmt], emitter: Emitter) -> Unit:
    emitter.out = []
    for stmt in body:
        emitter.emit(stmt)
    tokens = emitter.out
    return Unit(file=path, name=name, tokens=tuple(t for t, _ in tokens),
                lines=tuple(line for _, line in tokens))


def _raw_unit(path: str, text: str, first: int) -> Unit:
    """Text that does not parse: its raw tokens (`lexer`), as one unit."""
    tokens, lines = lex(text)
    return Unit(file=path, name="<file>", tokens=tokens,
                lines=tuple(line + first - 1 for line in lines))


def _parse(text: str, tries: int = 20) -> ast.Module:
    """The module, with up to `tries` lines that break parsing commented out (a hand-in with a
    syntax error is still mostly the code it was copied from); SyntaxError if that is not
    enough."""
    lines = text.splitlines()
    for _ in range(tries):
        try:
            return parse_piece("\n".join(lines))
        except SyntaxError as exc:
            if not exc.lineno or exc.lineno > len(lines):
                raise
            bad = lines[exc.lineno - 1]
            lines[exc.lineno - 1] = bad[: len(bad) - len(bad.lstrip())] + "pass  # " + bad
    return parse_piece("\n".join(lines))


KILLED = "parsing it was stopped by a limit (time or memory)"


def _read_file(path: str, text: str) -> tuple[Pieces, str | None]:
    """The file's parsed pieces (one tree when it parses) and, when some of it is left as raw
    text, why."""
    try:
        return Pieces(trees=[(_parse(text), 1, text)]), None
    except PARSE_FAILED as exc:
        pieces = salvage(text)
        if not pieces.raw:
            return pieces, None
        lines = ", ".join(str(first) for first, _ in pieces.raw[:5])
        more = f" and {len(pieces.raw) - 5} more" if len(pieces.raw) > 5 else ""
        return pieces, f"{_why(exc)}; compared by tokens from line(s) {lines}{more}"


def handin_units(sources: dict[str, str], tokens_only: frozenset[str] = frozenset()
                 ) -> tuple[list[Unit], dict[str, str]]:
    """The units of every `.py` file of a hand-in (path → text), and path → why for each file
    some of which is compared by its raw tokens instead (it did not parse; or it is in
    `tokens_only`: the caller saw it kill a parse)."""
    trees: list[tuple[str, ast.Module, int, str]] = []
    raw: list[tuple[str, int, str]] = []
    problems: dict[str, str] = {}
    for path, text in sources.items():
        if not path.endswith(".py"):
            continue
        if path in tokens_only:
            raw.append((path, 1, text))
            problems[path] = KILLED
            continue
        pieces, why = _read_file(path, text)
        trees.extend((path, tree, first, piece) for tree, first, piece in pieces.trees)
        raw.extend((path, first, piece) for first, piece in pieces.raw)
        if why:
            problems[path] = why
    bound: set[str] = set()
    numpy: set[str] = set()
    for _, tree, _, _ in trees:
        bound |= _bound_names(tree)
        numpy |= _numpy_aliases(tree)
    emitter = Emitter(bound - numpy, numpy)
    units: list[Unit] = []
    for path, tree, first, piece in trees:
        try:
            units.extend(_units_of_tree(path, tree, emitter))
        except PARSE_FAILED as exc:
            raw.append((path, first, piece))
            problems[path] = f"{_why(exc)}; compared by tokens from line {first}"
    units.extend(_raw_unit(path, piece, first) for path, first, piece in raw)
    return [u for u in units if u.tokens], problems


def _why(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        where = f"line {exc.lineno}: " if exc.lineno else ""
        return f"it does not parse ({where}{exc.msg})"[:200]
    if isinstance(exc, (RecursionError, MemoryError)):
        return "it is nested too deeply to parse"
    return f"it does not parse ({exc})"[:200]
