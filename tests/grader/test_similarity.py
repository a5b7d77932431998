"""Similarity detection, the library and `mlpgrade similarity`: what each transformation of a
copy leaves, that base code never counts, partial copies, and the JSON the command prints."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from bench.similarity import corpus, rewrites, transforms
from grader.similarity import Index, all_pairs, fingerprint
from grader.similarity.tokens import handin_units

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def originals():
    return corpus.originals()


@pytest.fixture(scope="module")
def base():
    return [fingerprint(corpus.starter())]


def score(a: dict, b: dict, base) -> float:
    [pair] = all_pairs({"a": fingerprint(a), "b": fingerprint(b)}, base)
    return pair.similarity


@pytest.mark.parametrize("name", sorted(corpus.TRANSFORMS))
def test_similarity_copy_survives_each_transformation_at_full_effort(originals, base, name):
    ref = originals["ref"]
    copy = corpus.TRANSFORMS[name](ref, 3, random.Random(1))
    assert copy != ref
    assert score(ref, copy, base) >= 0.9
    assert score(originals["v2"], copy, base) < 0.3  # an independent hand-in stays low


def test_similarity_renaming_and_rewriting_leave_tokens_unchanged():
    text = ("import numpy as np\n\ndef f(x, w):\n    total = 0\n    i = 0\n"
            "    while i < 3:\n        total += np.dot(x, w) * 2\n        i += 1\n"
            "    return total.sum(axis=0)\n")
    other = ("import numpy as numpy_lib\n\ndef g(inp, weights):\n    acc = 0\n"
             "    unused = 5\n    for k in range(3):\n        acc = 2 * (inp @ weights) + acc\n"
             "    return numpy_lib.sum(acc, axis=0)\n    print('dead')\n")
    [a], _ = handin_units({"m.py": text})
    [b], _ = handin_units({"m.py": other})
    assert a.tokens == b.tokens


def test_similarity_starter_alone_scores_zero_against_everyone(originals, base):
    starter = corpus.starter()
    for sources in originals.values():
        assert score(starter, sources, base) == 0.0
    assert score(starter, dict(starter), base) == 0.0  # two untouched starters share nothing


def test_similarity_base_code_given_to_everyone_does_not_count(originals):
    ref = originals["ref"]
    shared = {"mytorch/linear.py": ref["mytorch/linear.py"]}
    a = {**originals["v1"], **shared}
    b = {**originals["v2"], **shared}
    alone = score(originals["v1"], originals["v2"], [])
    assert score(a, b, []) > alone + 0.05  # without the base the shared file counts
    assert score(a, b, [fingerprint(shared)]) <= alone + 0.01


def test_similarity_one_copied_function_is_found_with_its_lines(originals, base):
    donor = transforms.rename(originals["v3"], 2, random.Random(3))
    copy = corpus.partial_function(corpus.starter(), donor)
    [pair] = all_pairs({"donor": fingerprint(originals["v3"]), "copy": fingerprint(copy)}, base)
    assert pair.similarity >= 0.9
    [match] = pair.matches
    assert match.a_file == match.b_file == "mytorch/batchnorm.py"
    start = originals["v3"]["mytorch/batchnorm.py"].splitlines().index(
        "    def backward(self, delta):") + 1
    assert start <= match.a_lines[0] and match.a_lines[1] >= start + 15


def test_similarity_unparsable_file_falls_back_to_tokens(originals, base):
    ref = originals["ref"]
    broken = {**ref, "hw1/hw1.py": ref["hw1/hw1.py"] + "\ndef oops(:\n"}
    assert score(ref, broken, base) >= 0.8


def test_similarity_index_add_equals_all_pairs(originals, base):
    prints = {k: fingerprint(v) for k, v in originals.items()}
    full = {tuple(sorted((p.a, p.b))): p.similarity for p in all_pairs(prints, base)}
    index = Index(base)
    for key in list(prints)[:-1]:
        index.add(key, prints[key])
    last = list(prints)[-1]
    for pair in index.add(last, prints[last]):
        assert pair.b == last
        assert pair.similarity == full[tuple(sorted((pair.a, pair.b)))]


def test_similarity_every_planted_copy_ranks_above_every_unrelated_pair():
    """The goal on the measured corpus (docs/similarity.md), with default settings."""
    handins = corpus.build()
    by_key = {h.key: h for h in handins}
    prints = {h.key: fingerprint(h.sources) for h in handins}
    pairs = all_pairs(prints, [fingerprint(corpus.starter())])
    scores = {frozenset((p.a, p.b)): p.similarity for p in pairs}
    planted = [scores[frozenset((h.origin, h.key))] for h in handins if h.kind != "original"]
    unrelated = [p.similarity for p in pairs if not corpus.related(by_key[p.a], by_key[p.b])]
    assert min(planted) > max(unrelated)
    assert max(unrelated) < 0.5 <= min(planted)


def test_similarity_rewrites_keep_the_reference_correct(originals):
    """The rewrite transformation changes code but not meaning (spot check on a formula)."""
    copy = rewrites.rewrite(originals["ref"], 3, random.Random(5))
    namespace: dict = {}
    exec(compile(copy["mytorch/activation.py"], "activation.py", "exec"), namespace)
    import numpy as np
    x = np.linspace(-3, 3, 7)
    assert np.allclose(namespace["Sigmoid"]()(x), 1 / (1 + np.exp(-x)))


def test_similarity_command_prints_every_pair_once_as_json(tmp_path, originals):
    copy = transforms.reorder(originals["ref"], 3, random.Random(2))
    corpus.write([corpus.Handin("ref", "ref", "original", originals["ref"]),
                  corpus.Handin("copy", "ref", "reorder-3", copy),
                  corpus.Handin("v4", "v4", "original", originals["v4"])], tmp_path)
    (tmp_path / "copy.tar").write_bytes(subprocess.run(
        ["tar", "-cf", "-", "hw1", "mytorch"], cwd=tmp_path / "copy", capture_output=True,
        check=True).stdout)
    paths = [str(tmp_path / "ref"), str(tmp_path / "copy.tar"), str(tmp_path / "v4")]
    out = subprocess.run([sys.executable, "-m", "submissions_api.cli", "similarity", *paths,
                          "--format", "json", "--jobs", "1"], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    pairs = json.loads(out)["pairs"]
    assert [{p["a"], p["b"]} for p in pairs][0] == {paths[0], paths[1]}
    assert sorted(tuple(sorted((p["a"], p["b"]))) for p in pairs) == sorted(
        tuple(sorted(x)) for x in [(paths[0], paths[1]), (paths[0], paths[2]),
                                   (paths[1], paths[2])])
    top = pairs[0]
    assert top["similarity"] >= 0.9 and top["similarity"] >= pairs[1]["similarity"]
    assert set(top["matches"][0]) == {"a_file", "a_lines", "b_file", "b_lines"}
    assert all(len(m["a_lines"]) == 2 and m["a_lines"][0] <= m["a_lines"][1]
               for m in top["matches"])
