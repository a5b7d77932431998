"""Meaning-preserving rewrites of expressions and loops (the `rewrite` transformation).

1: `x op= y` → `x = x op y` (plain local names) and operands of `*` and numeric `+` swapped;
2: also `a < b` as `b > a`, `np.dot(a, b)` ↔ `a @ b` and `np.sum(x, ...)` ↔ `x.sum(...)`;
3: also counting `for` loops as `while` loops and list comprehensions as loops that append.
"""

from __future__ import annotations

import ast
import random

_FLIP = {ast.Lt: ast.Gt, ast.Gt: ast.Lt, ast.LtE: ast.GtE, ast.GtE: ast.LtE}


def _numeric(node: ast.AST) -> bool:
    """Whether + on it is surely numeric (so its operands commute)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, (ast.Mult, ast.Div, ast.MatMult, ast.Pow, ast.Sub))
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Attribute) and getattr(node.func.value, "id", "") == "np"
    return isinstance(node, ast.Attribute) and getattr(node.value, "id", "") == "self"


def _listy(node: ast.AST) -> bool:
    return isinstance(node, (ast.List, ast.ListComp, ast.Tuple)) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str))


class Rewriter(ast.NodeTransformer):
    def __init__(self, effort: int, rng: random.Random) -> None:
        self.effort, self.rng = effort, rng
        self.params: set[str] = set()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        saved, self.params = self.params, {a.arg for a in node.args.args}
        self.generic_visit(node)
        self.params = saved
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        swap = (isinstance(node.op, ast.Mult) and not (_listy(node.left) or _listy(node.right))
                ) or (isinstance(node.op, ast.Add) and (_numeric(node.left) or _numeric(node.right))
                      and not (_listy(node.left) or _listy(node.right)))
        if swap and self.rng.random() < 0.8:
            node.left, node.right = node.right, node.left
        if self.effort >= 2 and isinstance(node.op, ast.MatMult):
            np_dot = ast.Attribute(value=ast.Name(id="np", ctx=ast.Load()), attr="dot",
                                   ctx=ast.Load())
            return ast.Call(func=np_dot, args=[node.left, node.right], keywords=[])
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        if not isinstance(node.target, ast.Name) or node.target.id in self.params:
            return node  # `a.b += c` or `param -= g` may update an array others hold
        load = ast.Name(id=node.target.id, ctx=ast.Load())
        return ast.Assign(targets=[node.target], value=ast.BinOp(load, node.op, node.value),
                          lineno=node.lineno)

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if self.effort >= 2 and len(node.ops) == 1 and type(node.ops[0]) in _FLIP:
            return ast.Compare(left=node.comparators[0], ops=[_FLIP[type(node.ops[0])]()],
                               comparators=[node.left])
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        func = node.func
        if self.effort < 2 or not isinstance(func, ast.Attribute):
            return node
        if getattr(func.value, "id", "") == "np" and func.attr == "dot" and len(node.args) == 2:
            return ast.BinOp(node.args[0], ast.MatMult(), node.args[1])
        if getattr(func.value, "id", "") == "np" and func.attr == "sum" and node.args:
            method = ast.Attribute(value=node.args[0], attr="sum", ctx=ast.Load())
            return ast.Call(func=method, args=node.args[1:], keywords=node.keywords)
        return node

    def visit_For(self, node: ast.For) -> ast.AST | list[ast.stmt]:
        self.generic_visit(node)
        it = node.iter
        if not (self.effort >= 3 and isinstance(node.target, ast.Name)
                and isinstance(it, ast.Call) and getattr(it.func, "id", "") == "range"
                and 1 <= len(it.args) <= 2 and not node.orelse
                and not any(isinstance(n, (ast.Continue, ast.Break)) for n in ast.walk(node))):
            return node
        start = it.args[0] if len(it.args) == 2 else ast.Constant(0)
        name = node.target.id
        test = ast.Compare(ast.Name(name, ast.Load()), [ast.Lt()], [it.args[-1]])
        inc = ast.AugAssign(ast.Name(name, ast.Store()), ast.Add(), ast.Constant(1))
        return [ast.Assign([ast.Name(name, ast.Store())], start, lineno=node.lineno),
                ast.While(test, [*node.body, inc], [])]

    def visit_Assign(self, node: ast.Assign) -> ast.AST | list[ast.stmt]:
        self.generic_visit(node)
        comp = node.value
        if not (self.effort >= 3 and isinstance(comp, ast.ListComp) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and len(comp.generators) == 1
                and not comp.generators[0].ifs):
            return node
        name = node.targets[0].id
        gen = comp.generators[0]
        append = ast.Expr(ast.Call(ast.Attribute(ast.Name(name, ast.Load()), "append",
                                                 ast.Load()), [comp.elt], []))
        return [ast.Assign([ast.Name(name, ast.Store())], ast.List([], ast.Load()),
                           lineno=node.lineno),
                ast.For(gen.target, gen.iter, [append], [], lineno=node.lineno)]


def rewrite(sources: dict[str, str], effort: int, rng: random.Random) -> dict[str, str]:
    out = {}
    for path, text in sources.items():
        tree = Rewriter(effort, rng).visit(ast.parse(text))
        out[path] = ast.unparse(ast.fix_missing_locations(tree)) + "\n"
    return out
