"""`mlpgrade`: grade a hand-in, make and verify golden sets, write hand-outs, run the service.

Exit status: 0 when the command did its job (a graded hand-in exits 0 whatever its score),
1 when a canary failed, 2 for usage errors, 3 for infrastructure errors (ours, not the student's).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from grader.assignment import DEFAULT_ASSIGNMENT, list_assignments, load_assignment
from grader.errors import GraderError, InfrastructureError
from grader.formats import (FORMATS, autolab_line, gradescope_results, json_document,
                            render_feedback, render_table)

EXIT_CANARY, EXIT_USAGE, EXIT_INFRA = 1, 2, 3


def cmd_grade(args: argparse.Namespace) -> int:
    from grader.golden import load_golden
    from grader.grade import grade_handin
    from grader.sandbox import get_sandbox

    path = Path(args.handin)
    if not path.is_file():
        print(f"mlpgrade: no such file: {path}", file=sys.stderr)
        return EXIT_USAGE
    a = load_assignment(args.assignment)
    golden = load_golden(Path(args.golden)) if args.golden else None
    report = grade_handin(path.read_bytes(), assignment=a, golden=golden,
                          sandbox=get_sandbox(args.sandbox), training=not args.no_training)
    if args.plots:
        Path(args.plots).mkdir(parents=True, exist_ok=True)
        for name, png in report.artifacts.items():
            (Path(args.plots) / name).write_bytes(png)
    if args.format == "json":
        print(json.dumps(json_document(report), indent=1))
    elif args.format == "gradescope":
        Path(args.output).write_text(json.dumps(gradescope_results(report), indent=1))
        print(f"wrote {args.output}")
    else:
        feedback = render_feedback(report)
        if feedback:
            print(feedback + "\n")
        print(render_table(report))
        if args.format == "autolab":
            print(autolab_line(report))
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from grader.canary import generate_golden

    golden = generate_golden(load_assignment(args.assignment), Path(args.out) if args.out else None)
    print(json.dumps({**golden.manifest, "path": str(golden.path)}, indent=1))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from grader.canary import generate_golden, verify_golden
    from grader.golden import find_golden, load_golden, set_current
    from grader.sandbox import get_sandbox

    a = load_assignment(args.assignment)
    if args.golden:
        golden = load_golden(Path(args.golden))
    else:
        golden = find_golden(a.slug) or generate_golden(a)
    result = verify_golden(a, golden, get_sandbox(args.sandbox))
    print(f"{'HAND-IN':<34}{'EXPECTED':>10}{'SCORE':>10}  OK")
    for case in result["cases"]:
        print(f"{case['handin']:<34}{case['expected_score']:>10g}{case['score']:>10g}  "
              f"{'yes' if case['ok'] else 'NO  failed ' + ','.join(case['failed'])}")
    verdict = "PASSED" if result["passed"] else "FAILED"
    print(f"canary {verdict} for {a.slug} golden {golden.version} in {result['seconds']} s")
    if result["passed"] and not args.golden:
        set_current(golden)
    return 0 if result["passed"] else EXIT_CANARY


def cmd_handout(args: argparse.Namespace) -> int:
    from grader.handout import write_handout

    path = write_handout(load_assignment(args.assignment), Path(args.out), solution=args.solution)
    print(f"wrote {path}")
    return 0


def cmd_runtime(args: argparse.Namespace) -> int:
    from grader.runtime import install_runtime

    print(install_runtime(load_assignment(args.assignment).packages))
    return 0


def cmd_image(args: argparse.Namespace) -> int:
    from grader.runtime import runtime_python
    from grader.sandbox.image import build_image, write_rootfs

    python = runtime_python(load_assignment(args.assignment).packages)
    if args.rootfs:
        print(write_rootfs(python, Path(args.rootfs)))
    else:
        print(build_image(python, args.tag))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlpgrade", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True)
    assignment = argparse.ArgumentParser(add_help=False)
    assignment.add_argument("--assignment", default=DEFAULT_ASSIGNMENT, choices=list_assignments())
    sandbox = argparse.ArgumentParser(add_help=False)
    sandbox.add_argument("--sandbox", help="bwrap, docker or process (default: MLPGRADE_SANDBOX)")

    p = sub.add_parser("grade", parents=[assignment, sandbox], help="grade a handin.tar")
    p.add_argument("handin")
    p.add_argument("--format", choices=FORMATS, default="table")
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
    p.add_argument("--out", required=True)
    p.add_argument("--solution", action="store_true", help="write our solution as OUT/handin.tar")
    p.set_defaults(func=cmd_handout)

    rt = sub.add_parser("runtime", help="the student runtime").add_subparsers(dest="action",
                                                                            required=True)
    p = rt.add_parser("install", parents=[assignment], help="create the student runtime venv")
    p.set_defaults(func=cmd_runtime)
    p = rt.add_parser("image", parents=[assignment], help="build the docker grading image")
    p.add_argument("--tag", help="image name (default: MLPGRADE_DOCKER_IMAGE)")
    p.add_argument("--rootfs", help="only write the root filesystem tarball here (for docker build)")
    p.set_defaults(func=cmd_image)

    try:  # the service's commands (serve, worker, users, submit), when it is installed
        from submissions_api.cli import register
    except ImportError:
        pass
    else:
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except InfrastructureError as exc:
        print(f"mlpgrade: infrastructure error (not the hand-in's fault): {exc}", file=sys.stderr)
        return EXIT_INFRA
    except GraderError as exc:
        print(f"mlpgrade: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
