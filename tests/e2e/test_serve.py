"""The embedded default as a user runs it: `mlpgrade serve` then `mlpgrade submit`."""

from __future__ import annotations

import re
import signal
import subprocess
import time

import httpx

from tests.api.services import REPO, Proc, free_port, service_env, wait_for
from tests.e2e.stack import MLPGRADE, _healthy, copy_home
from tests.handins import make_handin_tar


def test_serve_then_submit_reference_scores_95(tmp_path, service_home):
    home = copy_home(service_home, tmp_path / "home")
    env = service_env(home, "", "")
    del env["MLPGRADE_DATABASE_URL"], env["MLPGRADE_BROKER_URL"]  # the embedded defaults
    port = free_port()
    log = tmp_path / "serve.log"
    serve = Proc([*MLPGRADE, "serve", "--port", str(port)], env, log)
    try:
        token = wait_for(lambda: re.search(r"instructor token: (\S+)", log.read_text()), 60,
                         "serve to print a token", 0.2, (serve,)).group(1)
        # the address is printed once the API listens: opened at once, it answers
        wait_for(lambda: f"mlpgrade service at http://127.0.0.1:{port}" in log.read_text(), 60,
                 "serve to print its address", 0.05, (serve,))
        assert _healthy(f"http://127.0.0.1:{port}"), log.read_text()
        assert (home / "service.db").is_file()
        tar = tmp_path / "handin.tar"
        tar.write_bytes(make_handin_tar())
        out = subprocess.run([*MLPGRADE, "submit", str(tar), "--server",
                              f"http://127.0.0.1:{port}", "--token", token, "--timeout", "300"],
                             env=env, cwd=REPO, capture_output=True, text=True, timeout=360)
        assert out.returncode == 0, out.stdout + out.stderr + serve.tail()
        assert "TOTAL automatic 95/95 + manual —/5 = 95/100" in out.stdout
        # serve made the golden set at start and said so, and nothing else: no Celery banner,
        # no root warning, no access log (issue 29: at most 15 lines for a start, one grading
        # and Ctrl-C)
        wait_for(lambda: re.search(r"golden set of hw1p1-s20: ready after \d+ s",
                                   log.read_text()), 30, "serve to say the set is ready", 0.5,
                 (serve,))
        text = log.read_text()
        assert "making the golden sets of hw1p1-s20" in text
        assert "GET /health" not in text and "celery@" not in text, text
        assert "superuser" not in text and "SecurityWarning" not in text, text
        assert (home / "broker.db").is_file()  # the embedded sqla broker carried it
        # Prometheus's scrape of the running service: the grading is counted
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30,
                            headers={"Authorization": f"Bearer {token}"})
        assert scraped.status_code == 200, scraped.text
        assert re.search(r'^mlpgrade_grading_runs_total\{outcome="graded"\} [1-9]', scraped.text,
                         re.M), scraped.text
        ctrl_c(serve)
        lines = log.read_text().splitlines()
        assert lines[-1] == "mlpgrade service stopped", lines
        assert len(lines) <= 15 and "Traceback" not in log.read_text(), "\n".join(lines)
        # a restart mints no new instructor token (only the first instructor's is printed);
        # --access-log prints a line a request
        again = Proc([*MLPGRADE, "serve", "--port", str(port), "--access-log"], env,
                     tmp_path / "again.log")
        try:
            line = wait_for(lambda: re.search(r"instructor token: (.+)",
                                              (tmp_path / "again.log").read_text()), 60,
                            "serve to start again", 0.2, (again,)).group(1)
            assert "already issued" in line and "mlp_" not in line
            wait_for(lambda: _healthy(f"http://127.0.0.1:{port}"), 30, "the API", 0.2, (again,))
            wait_for(lambda: re.search(r'127\.0\.0\.1:\d+ "GET /health HTTP/1\.1" 200',
                                       again.tail()), 10, "an access log line", 0.2, (again,))
            stop_and_check_no_worker_is_left(again)
        finally:
            again.stop()
    finally:
        serve.stop()


def ctrl_c(serve: Proc) -> None:
    """SIGINT to serve's whole process group, as a terminal sends it; it must end in time."""
    serve.kill(signal.SIGINT)
    serve.popen.wait(timeout=40)


def stop_and_check_no_worker_is_left(serve: Proc) -> None:
    """SIGTERM to serve alone: it must stop its workers itself, and nothing of theirs may run
    on. Each worker leads its own process group (its pool, its sandboxes' parents)."""
    workers = subprocess.run(["pgrep", "-P", str(serve.popen.pid), "-f", " -m worker "],
                             capture_output=True, text=True).stdout.split()
    assert len(workers) == 2, workers  # its live and its bulk worker
    groups = [str(serve.popen.pid), *workers]  # serve's holds its API processes
    serve.popen.terminate()
    serve.popen.wait(timeout=40)  # a warm shutdown of 20 s at most, then SIGKILL

    def left() -> list[str]:  # what still runs in those groups (a zombie runs nothing:
        # this pytest may be a subreaper, after in-process bwrap tests, and never reap it)
        rows = subprocess.run(["ps", "-e", "-o", "pgid=,pid=,stat=,etime=,args="],
                              capture_output=True, text=True).stdout.splitlines()
        return [row for row in rows
                if row.split()[0] in groups and not row.split()[2].startswith("Z")]
    for _ in range(20):  # 10 s for the kernel to tear down what SIGKILL hit
        if not left():
            break
        time.sleep(0.5)
    assert left() == [], serve.tail()
