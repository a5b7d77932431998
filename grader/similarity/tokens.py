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
(up to 20 of them); files that still do not parse fall back to `tokenize`.
"""

from __future__ import annotations

import ast
import io
import keyword
import tokenize
from dataclasses import dataclass

from grader.similarity.calls import rewrite_call
from grader.similarity.rewrite import canonical

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


def _fallback_units(path: str, text: str) -> list[Unit]:
    """A file that does not parse: its raw tokens, names as `V` (keywords kept)."""
    tokens: list[Token] = []
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENCODING, tokenize.ENDMARKER}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in skip:
                continue
            if tok.type == tokenize.NAME and not keyword.iskeyword(tok.string):
                text_ = "V"
            elif tok.type == tokenize.NUMBER:
                text_ = "N"
            elif tok.type == tokenize.STRING:
                text_ = "S"
            else:
                text_ = tok.string
            tokens.append((text_, tok.start[0]))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # keep the tokens read before the damage
    return [Unit(file=path, name="<file>", tokens=tuple(t for t, _ in tokens),
                 lines=tuple(line for _, line in tokens))]


def _parse(text: str, tries: int = 20) -> ast.Module:
    """The module, with up to `tries` lines that break parsing commented out (a hand-in with a
    syntax error is still mostly the code it was copied from); SyntaxError if that is not
    enough."""
    lines = text.splitlines()
    for _ in range(tries):
        try:
            return ast.parse("\n".join(lines))
        except SyntaxError as exc:
            if not exc.lineno or exc.lineno > len(lines):
                raise
            bad = lines[exc.lineno - 1]
            lines[exc.lineno - 1] = bad[: len(bad) - len(bad.lstrip())] + "pass  # " + bad
    return ast.parse("\n".join(lines))


def handin_units(sources: dict[str, str]) -> list[Unit]:
    """The units of every `.py` file of a hand-in (path → text)."""
    trees: dict[str, ast.Module] = {}
    units: list[Unit] = []
    for path, text in sources.items():
        if not path.endswith(".py"):
            continue
        try:
            trees[path] = canonical(_parse(text))
        except (SyntaxError, ValueError, RecursionError):
            units.extend(_fallback_units(path, text))
    bound: set[str] = set()
    numpy: set[str] = set()
    for tree in trees.values():
        bound |= _bound_names(tree)
        numpy |= _numpy_aliases(tree)
    emitter = Emitter(bound - numpy, numpy)
    for path, tree in trees.items():
        units.extend(_units_of_tree(path, tree, emitter))
    return units
