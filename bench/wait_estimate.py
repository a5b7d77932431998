"""The wait estimate against the real wait, on a running service: a burst of uploads.

    MLPGRADE_HOME=... .venv/bin/python bench/wait_estimate.py --server URL --token T [--n 30]
                                                              [--again 15,30]

`--token` is an instructor's (serve prints it). The bench imports `--n` students (bench_wait_1 …,
through `mlpgrade users import`, so MLPGRADE_HOME must be the service's data folder), uploads our
reference hand-in once per student at the same moment (one thread each), and reads each
submission's status line (`/submissions/{id}/status.json`, as the page polls it) right after its
upload and again `--again` seconds after the burst while it is still queued. Once every upload is
graded it compares each estimate with the real wait (the graded run's finished_at minus the time
the estimate was read) and prints how many came within 50 % of it, and within the range shown.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.handins import make_handin_tar

SLUG = "hw1p1-s20"


def students(n: int) -> dict[str, str]:
    """login → token of `n` new students (existing ones get new tokens)."""
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        w = csv.writer(f)
        w.writerow(["login", "name", "role"])
        w.writerows([f"bench_wait_{i}", f"Bench {i}", "student"] for i in range(1, n + 1))
    mlpgrade = str(Path(sys.executable).parent / "mlpgrade")
    out = subprocess.run([mlpgrade, "users", "import", f.name, "--new-tokens"],
                         capture_output=True, text=True, check=True).stdout
    found = {}
    for line in out.splitlines():
        parts = line.replace(",", " ").split()
        login = next((p for p in parts if p.startswith("bench_wait_")), None)
        token = next((p for p in parts if p.startswith("mlp_")), None)
        if login and token:
            found[login] = token
    if len(found) != n:
        raise SystemExit(f"could not read {n} tokens from `mlpgrade users import`:\n{out}")
    return found


def status(client: httpx.Client, token: str, sub_id: int) -> dict:
    return client.get(f"/submissions/{sub_id}/status.json",
                      cookies={"mlpgrade_token": token}).json()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--token", required=True, help="an instructor's token")
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--again", default="15,30", help="seconds after the burst to read again")
    args = ap.parse_args()
    tokens = students(args.n)
    data = make_handin_tar()
    client = httpx.Client(base_url=args.server, timeout=120)
    made: list[tuple[int, datetime, dict]] = []  # (submission, when read, status)

    def upload(login: str) -> tuple[str, int]:
        r = client.post(f"/api/v1/assignments/{SLUG}/submissions",
                        headers={"Authorization": f"Bearer {tokens[login]}"},
                        files={"file": ("handin.tar", data)})
        r.raise_for_status()
        sub_id = r.json()["id"]
        made.append((sub_id, datetime.now(UTC), status(client, tokens[login], sub_id)))
        return login, sub_id

    burst = time.monotonic()
    with ThreadPoolExecutor(args.n) as pool:
        owner = {sub_id: login for login, sub_id in pool.map(upload, tokens)}
    for delay in (float(s) for s in args.again.split(",") if s):
        time.sleep(max(burst + delay - time.monotonic(), 0))
        for sub_id, login in owner.items():
            made.append((sub_id, datetime.now(UTC), status(client, tokens[login], sub_id)))
    finished: dict[int, datetime] = {}
    while len(finished) < len(owner):
        time.sleep(2)
        for sub_id in owner:
            if sub_id in finished:
                continue
            runs = client.get(f"/api/v1/submissions/{sub_id}/runs",
                              headers={"Authorization": f"Bearer {args.token}"}).json()
            done = [r for r in runs if r["outcome"] == "graded"]
            if done:
                finished[sub_id] = datetime.fromisoformat(done[0]["finished_at"])
    rows, first = [], []
    for i, (sub_id, at, st) in enumerate(made):
        if st.get("status") != "queued" or not st.get("wait_seconds"):
            continue
        real = (finished[sub_id] - at).total_seconds()
        rows.append((st["queue_position"], st["wait_seconds"], st["wait_low"], st["wait_high"],
                     real))
        if i < len(owner):  # read right after its upload
            first.append(rows[-1])
    print(f"{len(owner)} uploads in a burst; {len(rows)} estimates read while queued")
    for label, chosen in (("at upload", first), ("all reads", rows)):
        close = sum(abs(est - real) <= 0.5 * real for _, est, _, _, real in chosen)
        inside = sum(low <= real <= high for _, _, low, high, real in chosen)
        print(f"{label}: within 50 % of the real wait {close} of {len(chosen)} "
              f"({100 * close / max(len(chosen), 1):.0f} %); inside the range shown {inside}")
    print(f"last graded {max(finished.values()) - min(at for _, at, _ in made)} after the burst")
    for pos, est, low, high, real in sorted(rows)[:: max(len(rows) // 8, 1)]:
        print(f"  position {pos:>2}: about {est} s ({low}–{high} s), real {real:.0f} s")


if __name__ == "__main__":
    main()
