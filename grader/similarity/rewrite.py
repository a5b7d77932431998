"""Rewrites of a parsed module that keep its meaning but undo what copiers change.

Applied before tokens are emitted (see `tokens.py`): docstrings and dead code go (statements after
a return/raise/break/continue, `if False:`, `while False:`, bare constants, assignments to names
that are never read), `x op= y` becomes `x = x op y`, a counting `while` loop becomes the
equivalent `for ... in range(...)`, and a loop that only appends to a fresh list becomes a list
comprehension. Expression forms (operand order, `np.dot` vs `@`, ...) are made canonical where the
tokens are emitted, because that needs the name-blind form of each operand.
"""

from __future__ import annotations

import ast

_TERMINAL = (ast.Return, ast.Raise, ast.Break, ast.Continue)


def _const_truth(node: ast.expr) -> bool | None:
    if isinstance(node, ast.Constant):
        return bool(node.value)
    return None


def _clean_body(body: list[ast.stmt]) -> list[ast.stmt]:
    """A statement list without dead statements, with if-constants inlined."""
    out: list[ast.stmt] = []
    for stmt in body:
        if isinstance(stmt, ast.Pass):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # docstrings and bare constants do nothing
        if isinstance(stmt, (ast.If, ast.While)):
            truth = _const_truth(stmt.test)
            if truth is False:
                out.extend(stmt.orelse if isinstance(stmt, ast.If) else [])
                continue
            if truth is True and isinstance(stmt, ast.If):
                out.extend(stmt.body)
                continue
        out.append(stmt)
        if isinstance(stmt, _TERMINAL):
            break  # the rest of this block is unreachable
    return out


def _counter_increment(stmt: ast.stmt, name: str) -> bool:
    if isinstance(stmt, ast.AugAssign):
        return (isinstance(stmt.target, ast.Name) and stmt.target.id == name
                and isinstance(stmt.op, ast.Add) and _is_one(stmt.value))
    return False


def _is_one(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value == 1


def _while_to_for(first: ast.stmt, second: ast.stmt) -> ast.For | None:
    """`i = a; while i < b: ...; i += 1` → `for i in range(a, b): ...` (None if not that)."""
    if not (isinstance(first, ast.Assign) and len(first.targets) == 1
            and isinstance(first.targets[0], ast.Name) and isinstance(second, ast.While)):
        return None
    name = first.targets[0].id
    test = second.test
    if not (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == name and len(test.ops) == 1 and isinstance(test.ops[0], ast.Lt)
            and second.body and _counter_increment(second.body[-1], name) and not second.orelse):
        return None
    start = first.value
    args = [test.comparators[0]]
    if not (isinstance(start, ast.Constant) and start.value == 0):
        args.insert(0, start)
    call = ast.Call(func=ast.Name(id="range", ctx=ast.Load()), args=args, keywords=[])
    loop = ast.For(target=ast.Name(id=name, ctx=ast.Store()), iter=call,
                   body=second.body[:-1] or [ast.Pass()], orelse=[], type_comment=None)
    return ast.copy_location(loop, second)


def _append_to_comprehension(first: ast.stmt, second: ast.stmt) -> ast.Assign | None:
    """`xs = []; for t in it: xs.append(e)` → `xs = [e for t in it]` (None if not that)."""
    if not (isinstance(first, ast.Assign) and len(first.targets) == 1
            and isinstance(first.targets[0], ast.Name) and isinstance(first.value, ast.List)
            and not first.value.elts and isinstance(second, ast.For) and not second.orelse
            and len(second.body) == 1 and isinstance(second.body[0], ast.Expr)):
        return None
    call = second.body[0].value
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            and call.func.attr == "append" and isinstance(call.func.value, ast.Name)
            and call.func.value.id == first.targets[0].id and len(call.args) == 1):
        return None
    comp = ast.ListComp(elt=call.args[0], generators=[
        ast.comprehension(target=second.target, iter=second.iter, ifs=[], is_async=0)])
    return ast.copy_location(ast.Assign(targets=first.targets, value=comp), first)


def _fuse_pairs(body: list[ast.stmt]) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for stmt in body:
        if out:
            fused = _while_to_for(out[-1], stmt) or _append_to_comprehension(out[-1], stmt)
            if fused is not None:
                out[-1] = fused
                continue
        out.append(stmt)
    return out


class _Canonical(ast.NodeTransformer):
    """Statement-level rewrites, bottom up."""

    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                cleaned = _fuse_pairs(_clean_body(block))
                if not cleaned and field == "body" and not isinstance(node, ast.Module):
                    cleaned = [ast.Pass()]
                setattr(node, field, cleaned)
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        load = _as_load(node.target)
        value = ast.BinOp(left=load, op=node.op, right=node.value)
        return ast.copy_location(ast.Assign(targets=[node.target], value=value), node)


def _as_load(target: ast.expr) -> ast.expr:
    copy = ast.parse(ast.unparse(target), mode="eval").body
    return ast.copy_location(copy, target)


def _names_read(func: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(func) if isinstance(n, ast.Name)
            and not isinstance(n.ctx, ast.Store)}


class _DropUnused(ast.NodeTransformer):
    """Within one function: assignments to plain names that nothing reads."""

    def __init__(self, read: set[str]) -> None:
        self.read = read

    def visit_Assign(self, node: ast.Assign) -> ast.AST | None:
        if all(isinstance(t, ast.Name) and t.id not in self.read for t in node.targets):
            return None
        return node


def canonical(tree: ast.Module) -> ast.Module:
    """The module rewritten in place (see the module docstring) and returned."""
    tree = _Canonical().visit(tree)
    for func in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef,
                                                             ast.AsyncFunctionDef))]:
        for _ in range(2):  # dropping one dead assignment can make another dead
            _DropUnused(_names_read(func)).visit(func)
    tree = _Canonical().visit(tree)
    return ast.fix_missing_locations(tree)
