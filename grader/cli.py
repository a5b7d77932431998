"""The grader's commands: grade a hand-in, make and verify golden sets, write hand-outs, install
the student runtime.

`register(subparsers)` adds them to a parser made elsewhere (the service's `mlpgrade` adds its
own commands beside them); `main(argv)` is `python -m grader`, the library alone. Where a command
needs a golden set and none is named, it uses the command line's local store
(`$MLPGRADE_HOME/golden`, `grader.golden.store.LocalGoldenStore`): on first use it generates a
set there, runs the canary and marks the set current.

Exit status (`ExitCode`): 0 when the command did its job (a graded hand-in exits 0 whatever its
score), 1 when a canary failed, 2 for usage errors, 3 for infrastructure errors (ours, not the
student's).
"""

from __future__ import annotations

import argparse
import enum
import json
import logging
import sys
from pathlib import Path

from grader.errors import GraderError, InfrastructureError
from grader.formats import FORMATS, autolab_line, gradescope_results, render_feedback, render_table
from grader.golden.canary import generate_golden, verify_golden
from grader.golden.store import GoldenSet, LocalGoldenStore, load_golden
from grader.grade import grade_handin
from grader.handout import write_handout
from grader.rubric import DEFAULT_ASSIGNMENT, Assignment, list_assignments, load_assignment
from grader.runtime import install_runtime, runtime_python
from grader.sandbox import BACKENDS, Sandbox, get_sandbox
from grader.sandbox.image import build_image, write_rootfs
from grader.settings import GraderSettings, load_settings

log = logging.getLogger(__name__)


class ExitCode(enum.IntEnum):
    """THE exit statuses of `mlpgrade` (the service's commands and client use them too)."""

    OK = 0
    CANARY_FAILED = 1
    USAGE = 2
    INFRASTRUCTURE = 3
    TIMEOUT = 4
    """A service command (`mlpgrade submit`) stopped waiting for the score."""


def _assignment(args: argparse.Namespace) -> Assignment:
    """The command's --assignment, from the folders of the grader's settings."""
    return load_assignment(args.assignment, args.grader.assignment_roots)


def local_store(settings: GraderSettings) -> LocalGoldenStore:
    """The command line's golden sets, under MLPGRADE_HOME/golden."""
    return LocalGoldenStore(settings.golden_root)


def current_golden(a: Assignment, store: LocalGoldenStore, sandbox: Sandbox) -> GoldenSet:
    """The store's current set of `a`; on first use, generate one there, verify it and make it
    current (InfrastructureError when its canary fails)."""
    golden = store.current(a.slug)
    if golden is not None:
        return golden
    log.info("no golden set for %s yet: generating and verifying one", a.slug)
    golden = generate_golden(a, store.root)
    result = verify_golden(a, golden, sandbox)
    if not result["passed"]:
        bad = [c["handin"] for c in result["cases"] if not c["ok"]]
        raise InfrastructureError(f"the canary of golden set {golden.version} failed for {bad}")
    store.set_current(golden)
    return golden


def configured_sandbox(name: str | None) -> Sandbox:
    """The backend `--sandbox` names, else the settings' (MLPGRADE_SANDBOX)."""
    settings = load_settings()
    return get_sandbox(name or settings.sandbox, warm=settings.warm,
                       docker_image=settings.docker_image)


def cmd_grade(args: argparse.Namespace) -> int:
    path = Path(args.handin)
    if not path.is_file():
        print(f"mlpgrade: no such file: {path}", file=sys.stderr)
        return ExitCode.USAGE
    a = _assignment(args)
    sandbox = configured_sandbox(args.sandbox)
    golden = load_golden(Path(args.golden)) if args.golden else \
        current_golden(a, local_store(args.grader), sandbox)
    report = grade_handin(path.read_bytes(), assignment=a, golden=golden, sandbox=sandbox,
                          training=not args.no_training)
    if args.plots:
        Path(args.plots).mkdir(parents=True, exist_ok=True)
        for name, png in report.plots.items():
            (Path(args.plots) / name).write_bytes(png)
    if args.format == "json":
        print(json.dumps(report.to_dict(), indent=1))
    elif args.format == "gradescope":
        Path(args.output).write_text(json.dumps(gradescope_results(report, a), indent=1))
        print(f"wrote {args.output}")
    else:
        feedback = render_feedback(report, a)
        if feedback:
            print(feedback + "\n")
        print(render_table(report))
        if args.format == "autolab":
            print(autolab_line(report))
    return ExitCode.OK


def cmd_generate(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else local_store(args.grader).root
    golden = generate_golden(_assignment(args), out)
    print(json.dumps({**golden.manifest, "path": str(golden.path)}, indent=1))
    return ExitCode.OK


def cmd_verify(args: argparse.Namespace) -> int:
    a = _assignment(args)
    store = local_store(args.grader)
    if args.golden:
        golden = load_golden(Path(args.golden))
    else:
        golden = store.current(a.slug) or generate_golden(a, store.root)
    result = verify_golden(a, golden, configured_sandbox(args.sandbox))
    print(f"{'HAND-IN':<34}{'EXPECTED':>10}{'SCORE':>10}  OK")
    for case in result["cases"]:
        print(f"{case['handin']:<34}{case['expected_score']:>10g}{case['score']:>10g}  "
              f"{'yes' if case['ok'] else 'NO  failed ' + ','.join(case['failed'])}")
    verdict = "PASSED" if result["passed"] else "FAILED"
    print(f"canary {verdict} for {a.slug} golden {golden.version} in {result['seconds']} s")
    if result["passed"] and not args.golden:
        store.set_current(golden)
    return ExitCode.OK if result["passed"] else ExitCode.CANARY_FAILED


def cmd_handout(args: argparse.Namespace) -> int:
    path = write_handout(_assignment(args), Path(args.out), solution=args.solution)
    print(f"wrote {path}")
    return ExitCode.OK


def cmd_runtime(args: argparse.Namespace) -> int:
    print(install_runtime(_assignment(args).packages, args.grader))
    return ExitCode.OK


def cmd_image(args: argparse.Namespace) -> int:
    python = runtime_python(_assignment(args).packages, args.grader)
    if args.rootfs:
        print(write_rootfs(python, Path(args.rootfs)))
    else:
        print(build_image(python, args.tag or load_settings().docker_image))
    return ExitCode.OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add the grader's commands (grade, reference, handout, runtime) to `sub`."""
    settings = load_settings()  # once: every command reads the grader's settings from here
    assignment = argparse.ArgumentParser(add_help=False)
    assignment.set_defaults(grader=settings)
    assignment.add_argument("--assignment", default=DEFAULT_ASSIGNMENT,
                            choices=list_assignments(settings.assignment_roots),
                            help=f"the assignment (default: {DEFAULT_ASSIGNMENT})")
    sandbox = argparse.ArgumentParser(add_help=False)
    sandbox.add_argument("--sandbox", choices=BACKENDS,
                         help="where student code runs (default: MLPGRADE_SANDBOX, else bwrap)")

    p = sub.add_parser("grade", parents=[assignment, sandbox], help="grade a handin.tar")
    p.add_argument("handin", help="the hand-in (a tar of hw1/ and mytorch/)")
    p.add_argument("--format", choices=FORMATS, default="table",
                   help="table (default), json, autolab or gradescope")
    p.add_argument("--golden", help="a golden set folder (default: the current verified one)")
    p.add_argument("--output", default="results.json", help="where --format gradescope writes")
    p.add_argument("--plots", help="write the four training plots (PNG) into this folder")
    p.add_argument("--no-training", action="store_true",
                   help="skip the training run (get_training_stats) and its advisory checks")
    p.set_defaults(func=cmd_grade)

    ref = sub.add_parser("reference", help="golden sets").add_subparsers(dest="action",
                                                                         required=True)
    p = ref.add_parser("generate", parents=[assignment], help="write a versioned golden set")
    p.add_argument("--out", help="root folder of golden sets (default: MLPGRADE_HOME/golden)")
    p.set_defaults(func=cmd_generate)
    p = ref.add_parser("verify", parents=[assignment, sandbox], help="run the canary")
    p.add_argument("--golden", help="a golden set folder (default: current, else a new one)")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("handout", parents=[assignment], help="write the starter code")
    p.add_argument("--out", required=True, help="the folder to write (made if missing)")
    p.add_argument("--solution", action="store_true", help="write our solution as OUT/handin.tar")
    p.set_defaults(func=cmd_handout)

    rt = sub.add_parser("runtime", help="the student runtime").add_subparsers(dest="action",
                                                                            required=True)
    p = rt.add_parser("install", parents=[assignment], help="create the student runtime venv")
    p.set_defaults(func=cmd_runtime)
    p = rt.add_parser("image", parents=[assignment], help="build the docker grading image")
    p.add_argument("--tag", help="image name (default: MLPGRADE_DOCKER_IMAGE)")
    p.add_argument("--rootfs",
                   help="only write the root filesystem tarball here (for docker build)")
    p.set_defaults(func=cmd_image)


def run(args: argparse.Namespace) -> int:
    """Run the parsed command `args.func`, turning our errors into their exit status."""
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except InfrastructureError as exc:
        print(f"mlpgrade: infrastructure error (not the hand-in's fault): {exc}", file=sys.stderr)
        return ExitCode.INFRASTRUCTURE
    except GraderError as exc:
        print(f"mlpgrade: {exc}", file=sys.stderr)
        return ExitCode.USAGE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlpgrade", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    register(parser.add_subparsers(dest="command", required=True))
    return parser


def main(argv: list[str] | None = None) -> int:
    """`python -m grader`: the grader's commands alone."""
    return run(build_parser().parse_args(argv))
