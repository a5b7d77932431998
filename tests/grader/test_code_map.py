"""Every failing output points at code: the assignment's code.toml (grader/pointers.py)."""

from __future__ import annotations

import ast

import pytest

from grader.fixtures import load_bugs, reference_files
from grader.pointers import Place, load_code, point
from grader.rubric import load_assignment


def _defined(source: str) -> set[str]:
    """`Class.method` and top-level function names a module defines (an independent read of
    our reference, not the code under test)."""
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names |= {f"{node.name}.{f.name}" for f in node.body
                      if isinstance(f, ast.FunctionDef)}
    return names


@pytest.mark.parametrize("slug", ["hw1p1-s20", "hw1p1-s21"])
def test_code_map_covers_every_test_with_code_our_reference_has(slug):
    a = load_assignment(slug)
    code = load_code(a)
    sources = reference_files(a)
    assert {t.id for t in a.tests} <= set(code)
    for test_id, spec in code.items():
        places = [*spec.places, *spec.before, *(p for _, ps in spec.outputs for p in ps)]
        assert places, test_id
        for place in places:
            assert place.file in a.handin.required, (test_id, place)
            assert not place.name or place.name in _defined(sources[place.file]), (test_id, place)


S20 = load_code(load_assignment("hw1p1-s20"))
FAILS = {b.id: set(b.fails) for b in load_bugs(load_assignment("hw1p1-s20"))}
"""Each known mistake's failing tests (bugs.toml): which tests pass alongside a wrong one."""


def _checks(right: list[str], wrong: list[str]) -> list[dict]:
    return [{"name": n, "passed": True} for n in right] + \
        [{"name": n, "passed": False} for n in wrong]


def test_point_names_file_class_and_method():
    pointer = point(S20, "linear_layer_backward", _checks(["db"], ["dW"]))
    assert pointer.places == (Place("mytorch/linear.py", "Linear.backward"),)
    assert pointer.text == "Look at `Linear.backward` in mytorch/linear.py."
    assert point(S20, "mystery_hidden_forward2", _checks([], ["mlp.forward(x)"])).text == \
        "Look at `MLP.forward` in hw1/hw1.py."
    assert point(S20, "mcq", _checks(["question_1()"], ["question_3()"])).text == \
        "Look at `question_3` in hw1/mc.py."
    assert point(S20, "no_such_test", _checks([], ["x"])) is None


def test_point_says_the_first_layer_the_backward_pass_gets_wrong():
    right = ["linear_layers[2].dW", "linear_layers[2].db"]
    wrong = ["linear_layers[1].dW", "linear_layers[0].dW"]
    assert point(S20, "mystery_hidden_backward1", _checks(right, wrong)).text == (
        "linear_layers[2] is right; the backward pass first goes wrong at linear_layers[1]. "
        "Look at `MLP.backward` in hw1/hw1.py, then `Linear.backward` in mytorch/linear.py, "
        "then `Sigmoid.derivative` in mytorch/activation.py.")
    assert point(S20, "mystery_hidden_backward2",
                 _checks(["linear_layers[5].dW", "linear_layers[4].dW", "linear_layers[3].db"],
                         ["linear_layers[2].dW"])).layer == (
        "linear_layers[5] to linear_layers[3] are right; the backward pass first goes wrong at "
        "linear_layers[2].")
    assert point(S20, "single_hidden_backward", _checks([], ["linear_layers[1].db"])).layer == (
        "Your values are already wrong at linear_layers[1], the first layer the backward pass "
        "reaches.")
    # batch norm sits between linear_layers[1] and [0]: its own code comes first
    bn = point(S20, "batch_norm_train", _checks(
        ["linear_layers[2].dW", "linear_layers[1].dW"],
        ["bn_layers[0].dgamma", "linear_layers[0].dW"]))
    assert bn.layer == ("linear_layers[2] and linear_layers[1] are right; the backward pass "
                        "first goes wrong at bn_layers[0].")
    assert bn.places[0] == Place("mytorch/batchnorm.py", "BatchNorm.backward")
    # after several steps every layer mixes the others' errors: no layer is named
    assert point(S20, "momentum", _checks([], ["linear_layers[0].W"])).layer == ""


def test_point_names_what_runs_before_the_pass_when_its_first_layer_is_wrong():
    """batch_norm_train checks only gradients: a wrong training-mode forward (batch norm's
    statistics) makes even the last layer's dW wrong. Knowing that the tests of the backward
    pass's code passed, the forward code is named first; when they failed too, the backward
    pass stays first."""
    every = [f"linear_layers[{i}].{p}" for i in (2, 1, 0) for p in ("dW", "db")]
    checks = _checks(["bn_layers[0].dbeta"], [*every, "bn_layers[0].dgamma"])
    ids = {t.id for t in load_assignment("hw1p1-s20").tests}
    bn = point(S20, "batch_norm_train", checks, ids - {"batch_norm_train", "batch_norm_inference"})
    assert bn.text == (
        "Your values are already wrong at linear_layers[2], the first layer the backward pass "
        "reaches, so the mistake likely lies before that pass. Look at `BatchNorm.forward` in "
        "mytorch/batchnorm.py, then `BatchNorm.backward` in mytorch/batchnorm.py, then "
        "`MLP.forward` in hw1/hw1.py.")
    assert point(S20, "batch_norm_train", checks, ids - FAILS["linear_dw_summed"]).text == (
        "Your values are already wrong at linear_layers[2], the first layer the backward pass "
        "reaches. Look at `MLP.backward` in hw1/hw1.py, then `Linear.backward` in "
        "mytorch/linear.py, then `BatchNorm.backward` in mytorch/batchnorm.py.")
    # not knowing the other tests, the test's own code, as before
    assert point(S20, "batch_norm_train", checks).places[:3] == (
        Place("hw1/hw1.py", "MLP.backward"), Place("mytorch/linear.py", "Linear.backward"),
        Place("mytorch/activation.py", "Sigmoid.derivative"))


def test_point_names_code_no_passing_test_runs_first():
    """A wrong Sigmoid.derivative fails the hidden layers' backward tests; Linear and MLP's
    backward pass the linear classifier's, so the activation is named first."""
    ids = {t.id for t in load_assignment("hw1p1-s20").tests}
    passed = ids - FAILS["sigmoid_derivative_reapplied"]
    checks = _checks(["linear_layers[1].dW"], ["linear_layers[0].dW"])
    assert point(S20, "single_hidden_backward", checks, passed).places[0] == \
        Place("mytorch/activation.py", "Sigmoid.derivative")
    assert point(S20, "single_hidden_backward", checks).places[0] == \
        Place("hw1/hw1.py", "MLP.backward")
