"""The last minute before a deadline: N hand-ins of the realistic mix from many clients.

    .venv/bin/python bench/deadline.py [--n 400] [--clients 50] [--spread 60]
                                       [--stacks serve,pg-redis] [--slots N]

For each stack (`serve`: `mlpgrade serve` as installed, SQLite and the embedded broker, its own
workers; `pg-redis`: the API, one live worker of `--slots` grading slots and one bulk worker on
PostgreSQL + Redis) it uploads `--n` hand-ins of bench/burst.py's realistic mix (50 % correct,
30 % buggy, 10 % crashing, 5 % sleeping forever, 5 % allocating 20 GiB) at a steady pace over
`--spread` seconds from `--clients` students. After each upload its client asks for the status
as the result page does (pages.js: while queued with the state it shows, answered once that
state changed or after services/changes.WAIT; while running once a second) until the score is
visible; a TA loads the dashboard
page, the class statistics and the gradebook every 5 s, and a probe asks `/health` 5 times a
second (the floor of the API's latency in the same run).

It reports, per stack: upload → score visible (client side) p50/p95/max; the last upload → the
last score; each endpoint's p50/p99 during the rush and its p99 over `/health`'s; errors; the
CPU seconds a hand-in cost the whole service (API, workers, their sandboxes, the training and
similarity jobs: the service's cpuacct cgroup plus its sandboxes' own) over the floor
(bench/floor.py) measured in the same run; and whether every hand-in's verdict (score, each
test's pass and status) equals that of the same hand-in graded alone on the idle service after
the rush; and the CPU split by the processes that spent it (bench/service_cpu.py `split`: the
API, the live worker, the bulk worker, each worker's sandboxes). Writes the tables into
docs/benchmarks.md. Needs root (cgroup v1 cpuacct) for the
CPU figure; without it the column says so. PostgreSQL and Redis: MLPGRADE_TEST_POSTGRES_URL and
MLPGRADE_TEST_REDIS_URL, as the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bench.burst import Service, burst_items, percentile, write_doc
from bench.floor import floor_seconds
from bench.service_cpu import ServiceCpu
from submissions_api import security
from submissions_api.deps import SESSION_COOKIE
from submissions_api.store import crud
from submissions_api.store.models_grading import GradingRun, Submission
from tests.api.services import Proc, make_service_home, wait_for

SLUG = "hw1p1-s20"
DONE = ("graded", "failed")
TA_EVERY = 5.0
HEALTH_EVERY = 0.2
STATUS = "GET status.json (student, queued: waits for a change)"
RUNNING = "GET status.json (student, running)"


class Rush:
    """One rush against one service: what every request took, and each upload's timings."""

    def __init__(self, service: Service, ta_token: str) -> None:
        self.base = service.url.rsplit("/api", 1)[0]
        self.api = service.url
        self.tokens = service.tokens
        self.ta_token = ta_token
        self.calls: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter = Counter()
        self.uploads: list[dict] = []
        self.running = True

    async def timed(self, name: str, request) -> httpx.Response | None:
        start = time.perf_counter()
        try:
            reply = await request
        except httpx.HTTPError:
            self.errors[name] += 1
            return None
        self.calls[name].append(time.perf_counter() - start)
        if not reply.is_success:
            self.errors[name] += 1
        return reply

    async def hand_in(self, client: httpx.AsyncClient, token: str, kind: str, data: bytes,
                      at: float, t0: float) -> None:
        await asyncio.sleep(max(0.0, t0 + at - time.perf_counter()))
        auth = {"Authorization": f"Bearer {token}"}
        start = time.perf_counter()
        reply = await self.timed("POST upload (student)", client.post(
            f"{self.api}/assignments/{SLUG}/submissions", headers=auth,
            files={"file": ("handin.tar", data)}))
        record = {"kind": kind, "start": start, "id": None, "visible": None}
        self.uploads.append(record)
        if reply is None or not reply.is_success:
            return
        record["id"] = reply.json()["id"]
        # what the result page does (pages.js `poll`): a second after it showed "queued", it
        # asks for the status with the state it shows, which the server answers once that
        # state changed (or after changes.WAIT, with a fresh line), then again 0.25 s later;
        # while the grading runs, once a second without `seen` (the line's clock)
        seen: str | None = "queued/None"
        await asyncio.sleep(1.0)
        while True:
            reply = await self.timed(STATUS if seen else RUNNING, client.get(
                f"{self.base}/submissions/{record['id']}/status.json",
                params={"seen": seen} if seen else {}, cookies={SESSION_COOKIE: token}))
            if reply is not None and reply.is_success:
                data = reply.json()
                if data["status"] in DONE:
                    record["visible"] = time.perf_counter()
                    return
                seen = None if data["status"] == "running" else data["state"]
            await asyncio.sleep(1.0 if seen is None else 0.25)

    async def ta(self, client: httpx.AsyncClient) -> None:
        auth = {"Authorization": f"Bearer {self.ta_token}"}
        while self.running:
            await self.timed("GET TA dashboard (page)", client.get(
                f"{self.base}/staff/assignments/{SLUG}", cookies={SESSION_COOKIE: self.ta_token}))
            await self.timed("GET stats (TA)", client.get(
                f"{self.api}/assignments/{SLUG}/stats", headers=auth))
            await self.timed("GET gradebook.csv (TA)", client.get(
                f"{self.api}/assignments/{SLUG}/gradebook.csv", headers=auth))
            await asyncio.sleep(TA_EVERY)

    async def warm_up(self, client: httpx.AsyncClient) -> None:
        """The TA's dashboard once before the rush, untimed (a TA has it open): its first
        render compiles the templates."""
        await client.get(f"{self.base}/staff/assignments/{SLUG}",
                         cookies={SESSION_COOKIE: self.ta_token})

    async def health(self, client: httpx.AsyncClient) -> None:
        while self.running:
            await self.timed("GET /health (the floor)", client.get(f"{self.base}/health"))
            await asyncio.sleep(HEALTH_EVERY)

    async def run(self, items: list[tuple[str, bytes]], clients: int, spread: float) -> None:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        async with httpx.AsyncClient(timeout=120, limits=limits) as client:
            await self.warm_up(client)
            side = [asyncio.create_task(self.ta(client)), asyncio.create_task(self.health(client))]
            t0 = time.perf_counter()
            step = spread / max(1, len(items) - 1) if len(items) > 1 else 0.0
            await asyncio.gather(*(
                self.hand_in(client, self.tokens[i % clients], kind, data, i * step, t0)
                for i, (kind, data) in enumerate(items)))
            self.running = False
            await asyncio.gather(*side)


def add_ta(service: Service) -> str:
    with service.sessions() as session:
        token = security.issue_token(session, user=crud.create_user(session, login="ta",
                                                                     role="ta"))
        session.commit()
    return token


def verdicts(service: Service, ids: list[int]) -> dict[int, tuple]:
    """Per submission: its status, score and each test's (id, passed, status)."""
    with service.sessions() as session:
        subs = {s.id: s for s in session.query(Submission).filter(Submission.id.in_(ids))}
        runs = {r.submission_id: r for r in session.query(GradingRun).filter(
            GradingRun.submission_id.in_(ids), GradingRun.outcome == "graded")}
    out = {}
    for i in ids:
        run = runs.get(i)
        tests = tuple((t["id"], t["passed"], t.get("status", "ok"))
                      for t in ((run.summary or {}).get("tests", []) if run else []))
        out[i] = (subs[i].status, subs[i].score, tests)
    return out


def server_times(service: Service, ids: list[int]) -> dict:
    """From the database: received → grading started (the queue), started → finished (the
    grading), and the most gradings that ran at once."""
    with service.sessions() as session:
        received = dict(session.query(Submission.id, Submission.received_at).filter(
            Submission.id.in_(ids)))
        runs = session.query(GradingRun.submission_id, GradingRun.started_at,
                             GradingRun.finished_at).filter(
            GradingRun.submission_id.in_(ids), GradingRun.started_at.is_not(None)).all()
    edges = sorted([(r.started_at, 1) for r in runs] + [(r.finished_at, -1) for r in runs])
    running = most = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return {"queue": [(r.started_at - received[r.submission_id]).total_seconds() for r in runs],
            "grading": [(r.finished_at - r.started_at).total_seconds() for r in runs],
            "at_once": most}


def training_done(service: Service, ids: list[int]) -> int:
    """Training runs (the bulk worker's, ≈ 3 s of CPU each) over by now: part of the CPU."""
    with service.sessions() as session:
        return session.query(GradingRun).filter(GradingRun.submission_id.in_(ids),
                                                GradingRun.training.in_(("done", "failed"))
                                                ).count()


def alone(service: Service, items: list[tuple[str, bytes]]) -> dict[str, tuple]:
    """Each kind of hand-in graded alone on the idle service: its verdict."""
    kinds = {kind: data for kind, data in items}
    out = {}
    for i, (kind, data) in enumerate(sorted(kinds.items())):
        sub = service.upload(i, data)
        wait_for(lambda sub=sub: service.done([sub]) == 1, 300, f"{kind} graded alone", 0.2,
                 tuple(service.procs))
        out[kind] = verdicts(service, [sub])[sub]
    return out


def machine_busy() -> tuple[float, float, float]:
    """(busy, total, disk-stalled) seconds of the whole machine so far: the CPU seconds every
    process used (the service, PostgreSQL and Redis, this bench's clients) and all cores
    offered (/proc/stat), and the seconds in which every process that had work waited on the
    disk (/proc/pressure/io, "full"; 0 where the kernel has no pressure stall information).
    A disk that stalls everything (a commit's fsync on a busy host) shows as seconds-long
    outliers on every endpoint, /health's included."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle, iowait
    try:
        full = Path("/proc/pressure/io").read_text().split("full", 1)[1]
        stalled = int(full.rsplit("total=", 1)[1].split()[0]) / 1e6
    except (OSError, IndexError, ValueError):
        stalled = 0.0
    return (sum(fields[:8]) - idle) / ticks, sum(fields[:8]) / ticks, stalled


def difference(kind: str, rushed: tuple, single: tuple) -> str:
    """How a verdict of the rush differs from the same hand-in's graded alone, in a line."""
    (status, score, tests), (status1, score1, tests1) = rushed, single
    alone_tests = {t[0]: t[1:] for t in tests1}
    changed = [f"{t[0]} {alone_tests.get(t[0], ('absent',))[-1]} → {t[2]}" for t in tests
               if alone_tests.get(t[0]) != t[1:]]
    return (f"{kind}: {status} {score} in the rush, {status1} {score1} alone"
            + (f" ({', '.join(changed)})" if changed else ""))


def start_pg_redis(service: Service, slots: int, tmp: Path) -> None:
    """One live worker of `slots` grading slots and one bulk worker, as `serve` runs them."""
    python = sys.executable
    service.procs.append(Proc([python, "-m", "worker", "--queues", "live", "--concurrency",
                               str(slots), "--loglevel", "WARNING"], service.env,
                              tmp / "worker-live.log"))
    service.procs.append(Proc([python, "-m", "worker", "--queues", "bulk", "--concurrency", "1",
                               "--loglevel", "WARNING"], service.env, tmp / "worker-bulk.log"))
    time.sleep(4)  # let the workers connect before the rush


def one_stack(stack: str, args: argparse.Namespace, items, golden_home: Path,
              work: Path) -> dict:
    cpu = ServiceCpu(stack)
    with cpu.starting():  # what the service starts joins its cgroup; the bench does not
        service = Service(stack, 0, golden_home, work)
        if stack != "serve":
            start_pg_redis(service, args.slots, work)
    try:
        ta_token = add_ta(service)
        rush = Rush(service, ta_token)
        cpu.start([p.popen.pid for p in service.procs])
        machine = machine_busy()
        asyncio.run(rush.run(items, args.clients, args.spread))
        cpu_seconds = cpu.stop()
        machine = tuple(b - a for a, b in zip(machine, machine_busy(), strict=True))
        split = cpu.split()
        ids = [u["id"] for u in rush.uploads if u["id"] is not None]
        trained = training_done(service, ids)
        rushed = verdicts(service, ids)
        times = server_times(service, ids)
        single = alone(service, items)
        kind_of = {u["id"]: u["kind"] for u in rush.uploads}
        differ = [i for i in ids if rushed[i] != single[kind_of[i]]]
        how = Counter(difference(kind_of[i], rushed[i], single[kind_of[i]]) for i in differ)
        return {"rush": rush, "cpu": cpu_seconds, "split": split, "differ": differ, "how": how,
                "machine": machine,
                "verdicts": len(ids), "times": times, "trained": trained}
    finally:
        service.stop()
        cpu.remove()


def stack_tables(stack: str, r: dict, floor: float, n: int) -> list[str]:
    rush: Rush = r["rush"]
    times = r["times"]
    done = [u for u in rush.uploads if u["visible"] is not None]
    lat = [u["visible"] - u["start"] for u in done]
    last = max(u["visible"] for u in done) - max(u["start"] for u in rush.uploads) if done else 0
    cpu = (f"{r['cpu'] / n:.2f} s = {r['cpu'] / n / floor:.1f} × floor (the whole service "
           f"from the first upload to the last score, {r['trained']} training runs of the bulk "
           "worker among it)"
           if r["cpu"] is not None else "not measured (needs root, cgroup v1)")
    lines = [f"**{stack}**: {len(rush.uploads)} uploads, {len(done)} scores seen, upload errors "
             f"{rush.errors['POST upload (student)']}; upload → score visible p50 "
             f"{percentile(lat, 0.5):.1f} s, p95 {percentile(lat, 0.95):.1f} s, max "
             f"{max(lat):.1f} s; last upload → last score {last:.1f} s; CPU per hand-in {cpu}; "
             f"verdicts equal to grading alone: {r['verdicts'] - len(r['differ'])} of "
             f"{r['verdicts']}. In the service: queue (received → grading starts) p50 "
             f"{percentile(times['queue'], 0.5):.1f} s, p95 {percentile(times['queue'], 0.95):.1f}"
             f" s; grading (start → recorded) p50 {percentile(times['grading'], 0.5):.1f} s, p95 "
             f"{percentile(times['grading'], 0.95):.1f} s; at most {times['at_once']} gradings at "
             "once."]
    lines += [f"Differing verdicts: {count} × {how}." for how, count in r["how"].most_common()]
    busy, offered, stalled = r["machine"]
    if offered:
        theirs = f", the service {r['cpu'] / busy:.0%} of it" if r["cpu"] is not None else ""
        lines.append(f"The machine's cores were busy {busy:.0f} of {offered:.0f} core-seconds "
                     f"({busy / offered:.0%}) from the first upload to the last score{theirs}; "
                     "the rest is PostgreSQL, Redis and this bench's clients. Every process "
                     f"with work waited on the disk for {stalled:.1f} s of it "
                     "(/proc/pressure/io, full).")
    lines += ["", "| endpoint | requests | errors | p50 ms | p99 ms | max ms | p99 ÷ /health p99 |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    floor_p99 = percentile(rush.calls["GET /health (the floor)"], 0.99)
    for name, times in sorted(rush.calls.items(), key=lambda kv: "!" if "health" in kv[0]
                              else kv[0]):
        p99 = percentile(times, 0.99)
        ratio = "(waits)" if name == STATUS else f"{p99 / floor_p99:.1f}"
        lines.append(f"| {name} | {len(times)} | {rush.errors[name]} | "
                     f"{1000 * statistics.median(times):.0f} | {1000 * p99:.0f} | "
                     f"{1000 * max(times):.0f} | {ratio} |")
    if r["split"]:
        lines += ["", "| CPU spent by | s | s per hand-in | × floor | share |",
                  "| --- | ---: | ---: | ---: | ---: |"]
        total = sum(r["split"].values()) or 1.0
        for name, seconds in r["split"].items():
            lines.append(f"| {name} | {seconds:.1f} | {seconds / n:.3f} | "
                         f"{seconds / n / floor:.1f} | {100 * seconds / total:.0f} % |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=400, help="hand-ins uploaded in the rush")
    parser.add_argument("--clients", type=int, default=50, help="students uploading")
    parser.add_argument("--spread", type=float, default=60.0, help="seconds the uploads span")
    parser.add_argument("--stacks", default="serve,pg-redis")
    parser.add_argument("--slots", type=int, default=2 * (os.cpu_count() or 1),
                        help="grading slots of the pg-redis live worker")
    args = parser.parse_args()
    items = burst_items(args.n)
    load = os.getloadavg()[0]
    results = {}
    with tempfile.TemporaryDirectory(prefix="mlpgrade-deadline-") as tmp:
        root = Path(tmp)
        root.chmod(0o711)  # the sandbox's uid reads MLPGRADE_HOME/data (training run)
        golden_home = make_service_home(root / "golden-home")
        floors = [floor_seconds()]
        for stack in args.stacks.split(","):
            results[stack] = one_stack(stack, args, items, golden_home, root / stack)
            print(stack, {k: v for k, v in results[stack].items() if k != "rush"}, flush=True)
        floors.append(floor_seconds())
    floor = statistics.median(floors)
    mix = ", ".join(f"{k} {v}" for k, v in Counter(kind for kind, _ in items).items())
    lines = [f"`.venv/bin/python bench/deadline.py --n {args.n} --clients {args.clients} "
             f"--spread {args.spread:g} --stacks {args.stacks} --slots {args.slots}` "
             f"({os.cpu_count()} cores, load average {load:.1f} before; mix: {mix}; floor "
             f"{floor * 1000:.0f} ms, median of {[round(f, 3) for f in floors]}):", ""]
    for stack, r in results.items():
        lines += [*stack_tables(stack, r, floor, args.n), ""]
    text = "\n".join(lines).rstrip()
    print(text)
    write_doc("deadline", text, "The deadline rush")


if __name__ == "__main__":
    main()
