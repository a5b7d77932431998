"""Burst throughput of the compose stack (docker-compose.yml, the images of
scripts/build-images.sh, the docker sandbox through the docker-proxy) at 1, 2 and 3 live workers.

    .venv/bin/python bench/compose_burst.py [--n 30] [--workers 1,2,3] [--clients 10] [--floor 5]

Starts one compose project (as tests/e2e/test_compose_stack.py does), makes the golden set with
a first upload, then for each worker count: `--scale worker=N` (concurrency 1 each; worker-bulk
scaled to 0, so the deferred training runs wait, as in bench/burst.py), the floor, then a burst
of --n hand-ins in bench/burst.py's mix from --clients concurrent clients through the published
port. Throughput is n over first receipt → last graded (from the database). The floor, measured
just before each burst on the same host: the reference's scenarios bare in one process
(bench/grade_one.py's `bare`, median of --floor runs); "s per hand-in ÷ floor" is the burst's
wall time per hand-in in floors, the figure to compare across noisy runs. Needs DOCKER_HOST
(scripts/dockerd.sh) and compose. Writes docs/benchmarks.md between markers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from burst import burst_items, percentile, write_doc  # noqa: E402 - bench/ is on the path above
from grade_one import bench_bare  # noqa: E402 - bench/ is on the path above

from grader.rubric import load_assignment  # noqa: E402 - after the path setup
from tests.e2e.compose_stack import (  # noqa: E402 - after the path setup
    ComposeStack,
    build_images,
    compose_command,
)
from tests.e2e.test_compose_stack import wait_all  # noqa: E402 - after the path setup
from tests.handins import make_handin_tar  # noqa: E402 - after the path setup


def timings(st: ComposeStack, ids: list[int]) -> dict:
    id_list = ",".join(map(str, ids))
    rows = st.sql(
        "SELECT extract(epoch FROM r.finished_at - s.received_at), s.received_at, r.finished_at "
        "FROM submissions s JOIN grading_runs r ON r.submission_id = s.id "
        f"AND r.outcome = 'graded' WHERE s.id IN ({id_list})")
    span = st.sql("SELECT extract(epoch FROM max(r.finished_at) - min(s.received_at)) "
                  "FROM submissions s JOIN grading_runs r ON r.submission_id = s.id "
                  f"AND r.outcome = 'graded' WHERE s.id IN ({id_list})")[0][0]
    outcomes = Counter(r[0] for r in st.sql(
        f"SELECT outcome FROM grading_runs WHERE submission_id IN ({id_list})"))
    lat = [float(r[0]) for r in rows]
    return {"graded": len(rows), "span": float(span), "p50": percentile(lat, 0.5),
            "p95": percentile(lat, 0.95), "outcomes": outcomes}


def run_row(st: ComposeStack, workers: int, items, clients: int, floor_runs: int) -> dict:
    st.compose("up", "-d", "--no-build", "--no-recreate", "--scale", f"worker={workers}",
               "--scale", "worker-bulk=0")
    a = load_assignment("hw1p1-s20")
    floor = statistics.median(bench_bare(a, floor_runs)[0])
    with ThreadPoolExecutor(clients) as pool:
        ids = list(pool.map(lambda i: st.upload(i, items[i][1]), range(len(items))))
    done = wait_all(st, ids, 3600)
    assert len(done) == len(ids), f"{len(done)} of {len(ids)} finished\n{st.logs()}"
    r = timings(st, ids) | {"workers": workers, "n": len(ids), "floor": floor}
    r["per_min"] = r["n"] / r["span"] * 60
    r["per_floor"] = r["span"] / r["n"] / floor
    print(r, flush=True)
    return r


def table(rows: list[dict]) -> str:
    one = rows[0]
    lines = ["| live workers | hand-ins | floor s | per minute | s per hand-in ÷ floor | "
             "× 1 worker (floor-normalised) | p50 s | p95 s | runs |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        runs = ", ".join(f"{k} {v}" for k, v in sorted(r["outcomes"].items()))
        lines.append(f"| {r['workers']} | {r['n']} | {r['floor']:.2f} | {r['per_min']:.1f} | "
                     f"{r['per_floor']:.2f} | {one['per_floor'] / r['per_floor']:.2f} | "
                     f"{r['p50']:.1f} | {r['p95']:.1f} | {runs} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=30, help="hand-ins in each burst")
    parser.add_argument("--workers", default="1,2,3")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--floor", type=int, default=5, help="bare runs for the floor")
    args = parser.parse_args()
    command = compose_command(dict(os.environ))
    if command is None:
        sys.exit("compose is not installed")
    build_images()
    items = burst_items(args.n)
    load = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory(prefix="mlpgrade-compose-bench-") as tmp:
        counts = [int(w) for w in args.workers.split(",")]
        st = ComposeStack(Path(tmp), command, workers=counts[0], lease_seconds=60)
        try:
            st.up()
            st.add_students(50)
            first = st.upload(0, make_handin_tar())  # the service makes its golden set
            assert wait_all(st, [first], 1800) == [[str(first), "graded"]], st.logs()
            for workers in counts:
                rows.append(run_row(st, workers, items, args.clients, args.floor))
        finally:
            st.down()
    text = table(rows)
    print(text)
    mix = ", ".join(f"{k} {v}" for k, v in Counter(kind for kind, _ in items).items())
    write_doc("compose_burst",
              f"`.venv/bin/python bench/compose_burst.py --n {args.n} --workers {args.workers} "
              f"--clients {args.clients} --floor {args.floor}` ({os.cpu_count()} cores, load "
              f"average {load:.1f} before; mix: {mix}):\n\n{text}",
              "Compose stack: burst at 1, 2 and 3 workers")


if __name__ == "__main__":
    main()
