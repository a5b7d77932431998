"""Calls that say the same as an operator or another call, rewritten to one form.

Used by the token emitter: `np.dot(a, b)`, `np.matmul(a, b)` and `a.dot(b)` become `a @ b`;
`np.multiply/add/subtract/divide/power` their operators; `np.square(x)` `x ** 2`; `np.sqrt(x)`
`x ** 0.5`; `np.transpose(x)`/`x.transpose()` `x.T`; `x.sum(...)`-style reductions
`np.sum(x, ...)`; `len(x)` `x.shape[0]`; `range(0, n)` `range(n)`; `range(n - 1, -1, -1)` and
`list(reversed(r))` `reversed(range(n))`/`reversed(r)`.
"""

from __future__ import annotations

import ast

_NP_OPS: dict[str, type[ast.operator]] = {
    "dot": ast.MatMult, "matmul": ast.MatMult, "multiply": ast.Mult, "add": ast.Add,
    "subtract": ast.Sub, "divide": ast.Div, "true_divide": ast.Div, "power": ast.Pow}
_REDUCTIONS = {"sum", "mean", "max", "min", "var", "std", "argmax", "argmin", "prod"}


def _const(value: float) -> ast.Constant:
    return ast.Constant(value=value)


def _is_const(node: ast.AST, value: float) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _is_const(node.operand, -value)
    return isinstance(node, ast.Constant) and not isinstance(node.value, bool) \
        and node.value == value


def _numpy_call(node: ast.Call, numpy: set[str]) -> ast.AST | None:
    func = node.func
    name, args = func.attr, node.args
    if name in _NP_OPS and len(args) == 2 and not node.keywords:
        return ast.BinOp(left=args[0], op=_NP_OPS[name](), right=args[1])
    if len(args) == 1 and not node.keywords:
        one = args[0]
        if name == "square":
            return ast.BinOp(left=one, op=ast.Pow(), right=_const(2))
        if name == "sqrt":
            return ast.BinOp(left=one, op=ast.Pow(), right=_const(0.5))
        if name == "transpose":
            return ast.Attribute(value=one, attr="T", ctx=ast.Load())
        if name == "negative":
            return ast.UnaryOp(op=ast.USub(), operand=one)
    return None


def _method_call(node: ast.Call, numpy: set[str]) -> ast.AST | None:
    func = node.func
    receiver = func.value
    if func.attr == "dot" and len(node.args) == 1 and not node.keywords:
        return ast.BinOp(left=receiver, op=ast.MatMult(), right=node.args[0])
    if func.attr == "transpose" and not node.args and not node.keywords:
        return ast.Attribute(value=receiver, attr="T", ctx=ast.Load())
    if func.attr in _REDUCTIONS:
        np_func = ast.Attribute(value=ast.Name(id="np", ctx=ast.Load()), attr=func.attr,
                                ctx=ast.Load())
        return ast.Call(func=np_func, args=[receiver, *node.args], keywords=node.keywords)
    return None


def _builtin_call(node: ast.Call) -> ast.AST | None:
    name, args = node.func.id, node.args
    if node.keywords:
        return None
    if name == "len" and len(args) == 1:
        shape = ast.Attribute(value=args[0], attr="shape", ctx=ast.Load())
        return ast.Subscript(value=shape, slice=_const(0), ctx=ast.Load())
    if name == "range" and len(args) == 2 and _is_const(args[0], 0):
        return ast.Call(func=node.func, args=[args[1]], keywords=[])
    if (name == "range" and len(args) == 3 and _is_const(args[1], -1) and _is_const(args[2], -1)
            and isinstance(args[0], ast.BinOp) and isinstance(args[0].op, ast.Sub)
            and _is_const(args[0].right, 1)):
        inner = ast.Call(func=ast.Name(id="range", ctx=ast.Load()), args=[args[0].left],
                         keywords=[])
        return ast.Call(func=ast.Name(id="reversed", ctx=ast.Load()), args=[inner], keywords=[])
    if name == "list" and len(args) == 1 and isinstance(args[0], ast.Call) \
            and isinstance(args[0].func, ast.Name) and args[0].func.id == "reversed":
        return args[0]
    return None


def rewrite_call(node: ast.Call, numpy: set[str]) -> ast.AST | None:
    """The one form of this call, or None when it has no other form."""
    func = node.func
    if isinstance(func, ast.Attribute):
        if isinstance(func.value, ast.Name) and func.value.id in numpy:
            return _numpy_call(node, numpy)
        return _method_call(node, numpy)
    if isinstance(func, ast.Name) and func.id in ("len", "range", "list"):
        return _builtin_call(node)
    return None
