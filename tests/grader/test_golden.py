"""Golden sets are content-addressed: same content, same sha256; any change, another."""

import numpy as np
import pytest

from grader.errors import GoldenSetError, GraderError
from grader.golden.archive import GoldenArchiveError, inspect_golden, materialize, pack_golden
from grader.golden.store import (
    GoldenSet,
    LocalGoldenStore,
    content_sha256,
    load_golden,
    save_golden,
)


def outputs():
    rng = np.random.RandomState(1)
    return {"mcq": {"question_1()": "b"}, "linear": {"dW": rng.randn(4, 3), "db": rng.randn(1, 3)}}


def test_content_sha256_is_deterministic_and_order_independent():
    a = outputs()
    b = {"linear": dict(reversed(list(a["linear"].items()))), "mcq": a["mcq"]}
    assert content_sha256(a) == content_sha256(b)


@pytest.mark.parametrize("change", ["value", "dtype", "shape", "answer"])
def test_content_sha256_changes_with_content(change):
    a, b = outputs(), outputs()
    if change == "value":
        b["linear"]["dW"][0, 0] += 1e-12
    elif change == "dtype":
        b["linear"]["dW"] = b["linear"]["dW"].astype(np.float32)
    elif change == "shape":
        b["linear"]["dW"] = b["linear"]["dW"].reshape(3, 4)
    else:
        b["mcq"]["question_1()"] = "c"
    assert content_sha256(a) != content_sha256(b)


def test_save_and_load_round_trip_with_signatures(tmp_path):
    out = outputs()
    sha = content_sha256(out)
    sig = out["linear"]["dW"] * 2
    golden = GoldenSet("hw1p1-s20", sha[:12], sha, out, {"linear": {"dW": [("doubled", sig)]}},
                       {"assignment": "hw1p1-s20", "version": sha[:12], "sha256": sha})
    path = save_golden(golden, tmp_path, numpy_version="1.23.5")
    loaded = load_golden(path)
    assert loaded.sha256 == sha and loaded.manifest["numpy"] == "1.23.5"
    assert np.array_equal(loaded.outputs["linear"]["dW"], out["linear"]["dW"])
    assert loaded.outputs["mcq"]["question_1()"] == "b"
    assert loaded.signatures["linear"]["dW"][0][0] == "doubled"
    assert not (path / "outputs.npz").read_bytes().count(b"pickle")


def test_load_golden_detects_corruption(tmp_path):
    out = outputs()
    sha = content_sha256(out)
    path = save_golden(GoldenSet("hw1p1-s20", sha[:12], sha, out, {},
                                 {"assignment": "hw1p1-s20", "version": sha[:12], "sha256": sha}),
                       tmp_path, numpy_version="x")
    out["linear"]["dW"][0, 0] += 1
    np.savez(path / "outputs.npz", k0=out["linear"]["dW"], k1=out["linear"]["db"])
    with pytest.raises(GraderError, match="corrupt"):
        load_golden(path)


def saved(tmp_path, assignment="hw1p1-s20"):
    out = outputs()
    sha = content_sha256(out)
    golden = GoldenSet(assignment, sha[:12], sha, out, {},
                       {"assignment": assignment, "version": sha[:12], "sha256": sha})
    return save_golden(golden, tmp_path / "made", numpy_version="x"), sha


def test_archive_round_trip_and_materialize_once(tmp_path):
    path, sha = saved(tmp_path)
    data = pack_golden(path)
    assert inspect_golden(data, "hw1p1-s20")["sha256"] == sha
    golden = materialize(root=tmp_path / "cache", assignment="hw1p1-s20", version=sha[:12],
                         archive=lambda: data)
    assert golden.sha256 == sha and golden.path == tmp_path / "cache" / "hw1p1-s20" / sha[:12]
    again = materialize(root=tmp_path / "cache", assignment="hw1p1-s20", version=sha[:12],
                        archive=lambda: pytest.fail("a set this host extracted is read again"))
    assert again.sha256 == sha
    assert not (tmp_path / "cache" / "hw1p1-s20" / "CURRENT").exists()


def test_archive_of_another_assignment_or_junk_is_refused(tmp_path):
    path, _ = saved(tmp_path)
    with pytest.raises(GoldenArchiveError, match="is for hw1p1-s20, not hw1p1-s21"):
        inspect_golden(pack_golden(path), "hw1p1-s21")
    with pytest.raises(GoldenArchiveError):
        inspect_golden(b"junk", "hw1p1-s20")
    with pytest.raises(GoldenSetError):
        materialize(root=tmp_path / "cache", assignment="hw1p1-s20", version="x",
                    archive=lambda: b"junk")


def test_local_store_marks_a_set_current(tmp_path):
    path, sha = saved(tmp_path)
    store = LocalGoldenStore(tmp_path / "made")
    assert store.current("hw1p1-s20") is None
    assert store.find("hw1p1-s20", sha[:12]).sha256 == sha
    store.set_current(load_golden(path))
    assert store.current("hw1p1-s20").version == sha[:12]


def test_materialize_loads_a_set_once_and_again_when_its_files_change(tmp_path):
    path, sha = saved(tmp_path)
    data = pack_golden(path)
    kwargs = dict(root=tmp_path / "cache", assignment="hw1p1-s20", version=sha[:12],
                  archive=lambda: data)
    first = materialize(**kwargs)
    assert materialize(**kwargs) is first  # kept: not read and hashed again
    with pytest.raises(ValueError):
        first.outputs["linear"]["dW"][0, 0] = 0  # shared by every grading: read-only
    folder = tmp_path / "cache" / "hw1p1-s20" / sha[:12]
    out = outputs()
    out["linear"]["dW"][0, 0] += 1
    np.savez(folder / "outputs.npz", k0=out["linear"]["dW"], k1=out["linear"]["db"])
    with pytest.raises(GraderError, match="corrupt"):  # a changed file is checked again
        materialize(**kwargs)
