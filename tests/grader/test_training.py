"""Training statistics: the hand-in's get_training_stats runs in the sandbox; its curves become
advisory evidence for the TA (never automatic points) and four plots."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from grader.golden.canary import generate_golden
from grader.grade import grade_handin, train_handin
from grader.rubric import load_assignment
from grader.settings import load_settings
from grader.training.config import prepare_data
from tests.handins import make_handin_tar

S20 = load_assignment("hw1p1-s20")
# Fewer epochs keep the tests quick; everything else is the rubric's training run.
QUICK = dataclasses.replace(S20, training=dataclasses.replace(
    S20.training, epochs=8, seconds=8, max_final_val_error=0.9))
LOOP = "hw1/hw1.py"


@pytest.fixture(scope="module")
def golden_quick(tmp_path_factory):
    return generate_golden(QUICK, tmp_path_factory.mktemp("golden-training"))


def evidence(edits, golden, sandbox):
    report = grade_handin(make_handin_tar(edits), assignment=QUICK, golden=golden,
                          sandbox=sandbox, training=True)
    item = next(m for m in report.manual if m.id == "training_statistics")
    assert item.points is None  # a TA decides; nothing automatic
    assert report.score == 95  # the training run never costs automatic points
    return item.evidence, report


def failed(ev) -> dict[str, str]:
    return {c["name"]: c["message"] for c in ev["checks"] if not c["passed"]}


def test_training_data_is_split_standardised_and_one_hot():
    cfg = S20.training
    folder = prepare_data(cfg, load_settings().data_root)
    for part, n in zip(("train", "val", "test"), cfg.split, strict=True):
        x, y = np.load(folder / f"{part}_data.npy"), np.load(folder / f"{part}_labels.npy")
        assert x.shape == (n, 784) and y.shape == (n, 10) and x.dtype == np.float64
        assert abs(x.mean()) < 1e-9 and abs(x.std() - 1) < 1e-9
        assert np.array_equal(y.sum(axis=1), np.ones(n)) and set(np.unique(y)) == {0.0, 1.0}


def test_training_reference_passes_every_check_and_draws_four_plots(golden_quick, sandbox):
    ev, report = evidence({}, golden_quick, sandbox)
    assert failed(ev) == {}
    assert {c["name"] for c in ev["checks"]} >= {"shapes", "finite", "training_losses fall",
                                                "final validation error",
                                                "agrees with its own network"}
    assert len(ev["curves"]["validation_errors"]) == 8
    assert sorted(report.artifacts) == ["training_errors.png", "training_losses.png",
                                        "validation_errors.png", "validation_losses.png"]
    assert sorted(report.plots) == list(report.artifacts)
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in report.plots.values())
    # the serializer carries the plots' names only: their bytes are stored apart
    assert report.to_dict()["artifacts"] == list(report.artifacts)
    assert "plots" not in report.to_dict()


def test_training_without_step_is_flagged(golden_quick, sandbox):
    ev, _ = evidence({LOOP: ("            mlp.step()\n", "")}, golden_quick, sandbox)
    bad = failed(ev)
    assert "step()" in bad["training_losses fall"]
    assert "far apart" in bad["agrees with its own network"]


def test_training_without_shuffle_differs_from_its_own_network_under_our_loop(golden_quick,
                                                                             sandbox):
    """A loop that trains, another way: close to its network's curves under our loop, with the
    hint of what the handout's loop does."""
    ev, _ = evidence({LOOP: ("        np.random.shuffle(idxs)\n", "")}, golden_quick, sandbox)
    assert set(failed(ev)) == {"agrees with its own network"}
    why = failed(ev)["agrees with its own network"]
    assert "close, as from a loop that trains this network" in why and "np.random.shuffle" in why


def test_training_lists_of_the_wrong_length_are_named(golden_quick, sandbox):
    ev, _ = evidence({LOOP: ("    return training_losses, training_errors,",
                             "    return list(training_losses)[:-1], training_errors,")},
                     golden_quick, sandbox)
    assert "training_losses is a list" in failed(ev)["training_losses shape"]
    assert "length 8" in failed(ev)["training_losses shape"]


def test_training_that_hangs_is_stopped_and_reported(golden_quick, sandbox):
    ev, report = evidence({LOOP: ("    for e in range(nepochs):\n",
                                  "    while True:\n        pass\n    for e in range(nepochs):\n")},
                          golden_quick, sandbox)
    assert "did not finish within 8 s" in failed(ev)["ran"]
    assert report.sandbox["verdict"] == "completed"


def test_train_handin_alone_gives_evidence_and_plots(golden_quick, sandbox):
    result = train_handin(make_handin_tar(), assignment=QUICK, golden=golden_quick,
                          sandbox=sandbox)
    assert result.item_id == "training_statistics" and failed(result.evidence) == {}
    assert sorted(result.plots) == ["training_errors.png", "training_losses.png",
                                    "validation_errors.png", "validation_losses.png"]
    refused = train_handin(b"junk", assignment=QUICK, golden=golden_quick, sandbox=sandbox)
    assert refused.evidence["checks"] == [] and "not a tar" in refused.evidence["refused"]


#: get_training_stats that trains nothing and returns falling numbers of the right size and shape.
MADE_UP = ("    train, val, _ = dset\n",
           "    fall = np.linspace(1.0, 0.3, nepochs)\n"
           "    return 2.3 * fall, 0.9 * fall, 2.3 * fall, 0.9 * fall\n"
           "    train, val, _ = dset\n")


def test_training_made_up_curves_disagree_with_the_handins_own_network(golden_quick, sandbox):
    """Issue 26: made-up falling curves passed five of the six checks; the hand-in's own network
    trained by our loop shows they were not made by training it, and says by how much."""
    ev, report = evidence({LOOP: MADE_UP}, golden_quick, sandbox)
    assert set(failed(ev)) == {"agrees with its own network"}
    why = failed(ev)["agrees with its own network"]
    assert "reported 2.3 → 0.69" in why or "reported 0.9 → 0.27" in why, why
    assert "far apart" in why and "read get_training_stats" in why
    assert len(ev["own_curves"]["validation_errors"]) == 8
    assert ev["own_curves"]["training_losses"][-1] < ev["own_curves"]["training_losses"][0]
    assert sorted(report.plots) == sorted(report.artifacts) and len(report.plots) == 4


def test_training_own_network_that_cannot_train_is_evidence(golden_quick, sandbox):
    """A network our loop cannot train (its step raises) while get_training_stats reports
    curves anyway: the TA is told the curves are backed by no network that trains."""
    ev, _ = evidence({LOOP: MADE_UP, "mytorch/linear.py": (
        "    def forward(self, x):\n",
        "    def forward(self, x):\n"
        "        if x.shape == (100, 784) and self.W.shape == (784, 32):  # the training run's\n"
        "            raise RuntimeError('no')\n")}, golden_quick, sandbox)
    assert "RuntimeError: no" in failed(ev)["own network trains"]
    assert ev["own_curves"] == {}


def test_training_may_save_its_plots_in_its_working_folder(golden_quick, sandbox):
    """A correct hand-in that saves its plot in the working folder (as the handout suggests)
    lost its evidence to "Read-only file system"; it now works in a scratch folder."""
    saves = ("    mlp.train()\n    return training_losses",
             "    mlp.train()\n    np.save('curves.npy', training_losses)\n"
             "    with open('losses.txt', 'w') as f:\n        f.write(str(training_losses))\n"
             "    return training_losses")
    ev, _ = evidence({LOOP: saves}, golden_quick, sandbox)
    assert failed(ev) == {}


def test_training_scratch_folder_is_capped(golden_quick, sandbox):
    """The scratch folder is the box's size-capped /tmp: filling it is the hand-in's error."""
    if sandbox.name == "process":
        pytest.skip("the process backend caps no disk")
    fills = ("    mlp.train()\n    return training_losses",
             "    mlp.train()\n    with open('big', 'wb') as f:\n"
             "        for _ in range(4096):\n            f.write(b'x' * (1 << 20))\n"
             "    return training_losses")
    ev, report = evidence({LOOP: fills}, golden_quick, sandbox)
    assert "get_training_stats did not complete" in failed(ev)["ran"]
    assert "No space left" in failed(ev)["ran"] or "File too large" in failed(ev)["ran"]
    assert report.sandbox["verdict"] == "completed"


#: get_training_stats that looks for our own-network curves in its callers' frames and returns
#: them (made-up curves when there are none): our loop runs after it, so there are none.
STEAL = ("    train, val, _ = dset\n",
         "    import sys\n"
         "    frame = sys._getframe(1)\n"
         "    while frame is not None:\n"
         "        for value in list(frame.f_locals.values()):\n"
         "            if isinstance(value, dict) and 'own_training_losses' in value:\n"
         "                return tuple(value['own_' + n] for n in ('training_losses',\n"
         "                             'training_errors', 'validation_losses', "
         "'validation_errors'))\n"
         "        frame = frame.f_back\n"
         "    fall = np.linspace(1.0, 0.3, nepochs)\n"
         "    return 2.3 * fall, 0.9 * fall, 2.3 * fall, 0.9 * fall\n"
         "    train, val, _ = dset\n")


def test_training_own_curves_cannot_be_read_by_get_training_stats(golden_quick, sandbox):
    ev, _ = evidence({LOOP: STEAL}, golden_quick, sandbox)
    assert "agrees with its own network" in failed(ev)


def test_training_curves_copied_from_another_run_disagree(golden_quick, sandbox):
    """Curves copied from a correct run (here the reference's, on the rubric's seed, as the
    golden set holds them) with no training: every hand-in's run draws its own shuffle seed, so
    they are not what its own network gives under our loop."""
    copied = golden_quick.outputs["training_statistics"]
    text = ", ".join(f"np.array({list(map(float, copied[n]))})" for n in (
        "training_losses", "training_errors", "validation_losses", "validation_errors"))
    ev, _ = evidence({LOOP: ("    train, val, _ = dset\n", f"    return {text}\n"
                             "    train, val, _ = dset\n")}, golden_quick, sandbox)
    assert set(failed(ev)) == {"agrees with its own network"}
    assert "drawn for this run" in failed(ev)["agrees with its own network"]


#: total_loss and error that return a falling schedule whatever the network does, called by the
#: handout's loop (get_training_stats unchanged) and, while our loop measured with them, by ours
#: alike: the reported curves then agreed with "its own network" and passed every check.
FAKE_MEASURES = {LOOP: ("    def __call__(self, x):\n",
                        "    def error(self, labels):\n"
                        "        self.errors = getattr(self, 'errors', 0) + 1\n"
                        "        return 0.9 * 0.995 ** self.errors\n\n"
                        "    def total_loss(self, labels):\n"
                        "        self.losses = getattr(self, 'losses', 0) + 1\n"
                        "        return 2.3 * len(labels) * 0.995 ** self.losses\n\n"
                        "    def __call__(self, x):\n")}


def test_training_made_up_losses_and_errors_disagree_with_what_we_measure(golden_quick,
                                                                         sandbox):
    ev, _ = evidence(FAKE_MEASURES, golden_quick, sandbox)
    assert set(failed(ev)) == {"agrees with its own network"}, failed(ev)
    why = failed(ev)["agrees with its own network"]
    assert "far apart" in why and "not by its total_loss and error" in why
    reported, own = ev["curves"], ev["own_curves"]
    assert reported["validation_errors"][-1] < 0.5 < own["validation_errors"][-1]
    assert own["training_losses"][-1] < own["training_losses"][0]  # it does train


def test_training_reference_agrees_with_its_own_network_whatever_the_seed(golden_quick, sandbox):
    for _ in range(2):
        ev, _ = evidence({}, golden_quick, sandbox)
        assert failed(ev) == {}
