"""Rewrites of a parsed module that keep its meaning but undo what copiers change.

Applied before tokens are emitted (see `tokens.py`): docstrings and dead code go (statements after
a return/raise/break/continue, `if False:`, `while False:`, loops whose body is `pass`, bare
constants, assignments to names that are never read), `x op= y` becomes `x = x op y`, a counting
`while` loop becomes the equivalent `for ... in range(...)`, and a loop that only appends to a
fresh list becomes a list comprehension. Expression forms (operand order, `np.dot` vs `@`, ...)
are made canonical where the tokens are emitted, because that needs the name-blind form of each
operand.
"""

from __future__ import annotations

import ast
import copy

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
        if isinstance(stmt, (ast.For, ast.While)) and not stmt.orelse and all(
                isinstance(s, ast.Pass) for s in stmt.body):
            continue  # a loop that does nothing
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
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        target, value = stmt.targets[0], stmt.value
        return (isinstance(target, ast.Name) and target.id == name
                and isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add)
                and isinstance(value.left, ast.Name) and value.left.id == name
                and _is_one(value.right))
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


_BLOCKS = ("body", "orelse", "finalbody")


def _aug_to_assign(stmt: ast.stmt) -> ast.stmt:
    if not isinstance(stmt, ast.AugAssign):
        return stmt
    load = copy.deepcopy(stmt.target)
    for node in ast.walk(load):
        if hasattr(node, "ctx"):
            node.ctx = ast.Load()
    value = ast.BinOp(left=load, op=stmt.op, right=stmt.value)
    return ast.copy_location(ast.Assign(targets=[stmt.target], value=value), stmt)


def _canonical_block(body: list[ast.stmt], keep_empty: bool) -> list[ast.stmt]:
    """The block with every nested block made canonical first (bottom up)."""
    for stmt in body:
        _canonical_children(stmt)
    cleaned = _fuse_pairs(_clean_body([_aug_to_assign(s) for s in body]))
    return cleaned if cleaned or keep_empty else [ast.Pass()]


def _canonical_children(stmt: ast.AST) -> None:
    for field in _BLOCKS:
        block = getattr(stmt, field, None)
        if block:
            setattr(stmt, field, _canonical_block(block, field != "body"))
    for handler in getattr(stmt, "handlers", ()):
        handler.body = _canonical_block(handler.body, False)


def _names_read(func: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(func) if isinstance(n, ast.Name)
            and not isinstance(n.ctx, ast.Store)}


def _drop_unused(body: list[ast.stmt], read: set[str], keep_empty: bool, dropped: list[int]
                 ) -> list[ast.stmt]:
    """The block without assignments to plain names that nothing in the function reads
    (counted in `dropped`)."""
    out = []
    for stmt in body:
        if isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) and t.id not in read
                                                for t in stmt.targets):
            dropped.append(1)
            continue
        for field in _BLOCKS:
            block = getattr(stmt, field, None)
            if block:
                setattr(stmt, field, _drop_unused(block, read, field != "body", dropped))
        out.append(stmt)
    cleaned = _fuse_pairs(_clean_body(out))
    return cleaned if cleaned or keep_empty else [ast.Pass()]


def _functions(body: list[ast.stmt]) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The module's functions and methods (not nested ones: they are part of their parent)."""
    found = []
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append(stmt)
        elif isinstance(stmt, ast.ClassDef):
            found.extend(_functions(stmt.body))
    return found


def canonical(tree: ast.Module) -> ast.Module:
    """The module rewritten in place (see the module docstring) and returned."""
    tree.body = _canonical_block(tree.body, True)
    for func in _functions(tree.body):
        for _ in range(2):  # dropping one dead assignment can make another dead
            dropped: list[int] = []
            func.body = _drop_unused(func.body, _names_read(func), False, dropped)
            if not dropped:
                break
    return tree
