"""The staged comparison: every stage fails for the right reason with a message that says so."""

import numpy as np
import pytest

from grader.compare import MISSING, compare_output
from grader.outputs import OpaqueValue

TOL = dict(rtol=1e-4, atol=1e-8)
RNG = np.random.RandomState(0)
EXPECTED = RNG.randn(784, 10)


def check(got, expected=EXPECTED, **kw):
    return compare_output("dW", expected, got, **{**TOL, **kw})


def test_compare_identical_passes():
    result = check(EXPECTED.copy())
    assert result.passed and result.message == ""


def test_compare_within_tolerance_passes_and_beyond_fails():
    assert check(EXPECTED * (1 + 5e-5)).passed
    assert not check(EXPECTED * (1 + 5e-4)).passed


def test_compare_missing_output_fails():
    result = check(MISSING)
    assert not result.passed and "was not produced" in result.message


def test_compare_none_names_the_starter():
    result = check(None)
    assert not result.passed
    assert "is None" in result.message and "(784, 10)" in result.message
    assert "starter" in result.message


def test_compare_list_suggests_np_array():
    result = check(OpaqueValue(type="list", repr="[1, 2]"))
    assert "is a list" in result.message and "np.array" in result.message


def test_compare_float32_is_a_dtype_failure():
    result = check(EXPECTED.astype(np.float32))
    assert not result.passed
    assert "dtype float32, expected float64" in result.message
    assert result.details["got_dtype"] == "float32"


def test_compare_transposed_shape_hints_transpose():
    result = check(EXPECTED.T.copy())
    assert "shape (10, 784), expected (784, 10): did you transpose?" in result.message


def test_compare_flat_bias_hints_keepdims():
    expected = RNG.randn(1, 10)
    result = compare_output("db", expected, expected.ravel(), **TOL)
    assert "keep it 2-D" in result.message


def test_compare_unreduced_bias_hints_batch_reduction():
    expected = RNG.randn(1, 10)
    result = compare_output("db", expected, np.repeat(expected, 20, axis=0), **TOL)
    assert "reduce over the batch" in result.message


def test_compare_sum_instead_of_mean_names_the_batch_size():
    result = check(EXPECTED * 20, batch=20)
    assert not result.passed
    assert "20 (the batch size) times too large" in result.message
    assert result.details["mismatches"] == EXPECTED.size


def test_compare_averaged_dgamma_names_the_sum_convention():
    result = check(EXPECTED / 100, batch=100)
    assert "times too small" in result.message and "dgamma" in result.message


def test_compare_unbiased_variance_factor_is_recognised():
    result = check(EXPECTED * np.sqrt(99 / 100), batch=100)
    assert "biased variance" in result.message


def test_compare_sign_flip_is_recognised():
    assert "wrong sign" in check(-EXPECTED).message


def test_compare_reports_count_share_and_largest_error_location():
    got = EXPECTED.copy()
    got[3, 7] += 10.0
    got[100, 2] += 1.0
    result = check(got)
    assert result.details["mismatches"] == 2
    assert result.details["max_error_index"] == [3, 7]
    assert result.details["max_abs_error"] == pytest.approx(10.0)
    assert "2 of 7,840 values (0.0%)" in result.message


def test_compare_counts_nan_and_inf():
    got = EXPECTED.copy()
    got[0, 0], got[1, 1] = np.nan, np.inf
    result = check(got)
    assert result.details["nan"] == 1 and result.details["inf"] == 1
    assert "1 NaN and 1 inf" in result.message


def test_compare_never_reveals_expected_values():
    got = EXPECTED.copy()
    got[0, 0] += 1
    result = check(got)
    assert repr(float(EXPECTED[0, 0]))[:8] not in result.message
    assert "expected" not in {k for k in result.details if k.startswith("expected_value")}


def test_compare_known_mistake_signature_names_it():
    mistake = EXPECTED * 1.7 + 0.3
    result = check(mistake, signatures=[("momentum sign flipped", mistake)])
    assert "known mistake: momentum sign flipped" in result.message


def test_compare_multiple_choice_hides_the_answer():
    result = compare_output("question_1()", "b", "c", **TOL)
    assert not result.passed and "'c'" in result.message and "'b'" not in result.message
    assert "lowercase" in compare_output("question_1()", "b", "B", **TOL).message
    assert compare_output("question_1()", "b", "b", **TOL).passed
