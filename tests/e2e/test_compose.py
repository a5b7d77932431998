"""docker-compose.yml: a schema-level check (no Docker engine needed), plus `docker compose
config` when compose is installed. The stack started for real: test_compose_stack.py."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from grader.sandbox.mounts import RUNTIME
from tests.api.services import REPO
from tests.conftest import IN_CI
from tests.e2e.compose_stack import compose_command

COMPOSE = REPO / "docker-compose.yml"
SECRETS = ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "MLPGRADE_INSTRUCTOR_TOKEN", "FLOWER_BASIC_AUTH")
TOP_LEVEL = {"services", "networks", "volumes", "configs", "secrets", "name", "version"}
SERVICE_KEYS = {"image", "build", "restart", "networks", "environment", "depends_on", "volumes",
                "command", "entrypoint", "ports", "deploy", "healthcheck", "network_mode"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_shape(compose):
    assert {k for k in compose if not k.startswith("x-")} <= TOP_LEVEL
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "api", "worker", "worker-bulk", "docker-proxy",
            "grading-image", "flower"} <= set(services)
    for name, svc in services.items():
        assert set(svc) <= SERVICE_KEYS, (name, set(svc) - SERVICE_KEYS)
        assert "image" in svc, name
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in services, (name, dep)
            assert cond["condition"] in {"service_started", "service_healthy",
                                         "service_completed_successfully"}
        for net in svc.get("networks", []):
            assert net in compose["networks"], (name, net)
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            assert source.startswith(("/", "${")) or source in compose["volumes"], (name, volume)


def test_compose_runs_migrations_once_before_api_and_workers(compose):
    services = compose["services"]
    assert services["migrate"]["command"] == ["mlpgrade", "migrate"]
    assert services["migrate"]["restart"] == "no"
    for name in ("api", "worker", "worker-bulk"):
        assert services[name]["depends_on"]["migrate"]["condition"] == \
            "service_completed_successfully"


def test_compose_workers_use_docker_sandbox_through_the_proxy_only(compose):
    services = compose["services"]
    for name in ("worker", "worker-bulk"):
        env = services[name]["environment"]
        assert env["MLPGRADE_SANDBOX"] == "docker"
        assert env["DOCKER_HOST"].startswith("tcp://docker-proxy:")
    holders = [n for n, s in services.items()
               if any("docker.sock" in v for v in s.get("volumes", []))]
    assert holders == ["docker-proxy"]
    assert compose["networks"]["sandbox"]["internal"] is True
    assert "sandbox" not in services["api"]["networks"]
    assert services["worker"]["deploy"]["replicas"]
    assert services["docker-proxy"]["image"].startswith("mlpgrade-docker-proxy:")
    # the workers' jobs run in the grading image the script builds, with the same tag
    for name in ("worker", "worker-bulk"):
        assert services[name]["environment"]["MLPGRADE_DOCKER_IMAGE"] == \
            services["grading-image"]["image"]
    # job folders are bind-mounted by the host's daemon: same path inside and outside
    jobs = "${MLPGRADE_JOBS_DIR:-/var/lib/mlpgrade-jobs}"
    for name in ("worker", "worker-bulk"):
        assert services[name]["environment"]["TMPDIR"] == jobs
        assert f"{jobs}:{jobs}" in services[name]["volumes"]


def test_compose_runs_only_images_the_build_script_makes(compose):
    """No registry: every image is ours, built by scripts/build-images.sh, the one way the
    README gives (nothing for compose to build or pull)."""
    script = (REPO / "scripts" / "build-images.sh").read_text()
    targets = re.search(r"^for target in (.+); do$", script, re.M).group(1).split()
    dockerfile = (REPO / "Dockerfile").read_text()
    for target in targets:
        assert re.search(rf"^FROM .* AS {target}$", dockerfile, re.M), target
    for name, svc in compose["services"].items():
        assert "build" not in svc, name
        image, _, tag = svc["image"].partition(":")
        assert image in {f"mlpgrade-{t}" for t in targets}, (name, image)
        assert tag == "${MLPGRADE_IMAGE_TAG:-latest}", (name, tag)
    for line in dockerfile.splitlines():
        if line.startswith("FROM "):
            assert line.split()[1] in {"${BASE}", "scratch", "install"}, line
    assert "bash scripts/build-images.sh" in (REPO / "README.md").read_text()


def test_compose_has_no_default_secrets():
    text = COMPOSE.read_text()
    for secret in SECRETS:
        uses = re.findall(r"\$\{" + secret + r"([^}]*)\}", text)
        assert uses, secret
        assert all(u.startswith(":?") for u in uses), (secret, uses)  # required, no default


def test_dockerfile_targets_exist():
    text = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM .* AS grading$", text, re.M)
    assert re.search(r"^FROM .* AS service$", text, re.M)
    assert "USER 10001" in text and "USER mlpgrade" in text
    # The docker backend runs /runtime/bin/python: the image is the root filesystem that
    # grader/sandbox/image.py lays out, with the runtime at mounts.RUNTIME.
    assert "runtime image --rootfs" in text and RUNTIME == "/runtime"


def test_compose_config_validates_with_docker(tmp_path):
    env = {s: "x" for s in SECRETS} | {"PATH": "/usr/bin:/bin:/usr/local/bin"}
    command = compose_command(env)
    if command is None:
        if IN_CI:
            pytest.fail("neither `docker compose` nor `docker-compose` is installed "
                        "(.ci/install-system.sh installs Debian's docker-compose)")
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    out = subprocess.run([*command, "-f", str(COMPOSE), "config", "-q"],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    missing = subprocess.run([*command, "-f", str(COMPOSE), "config", "-q"], capture_output=True,
                             text=True, env={"PATH": env["PATH"]})
    assert missing.returncode != 0  # no default secrets: without them the file does not resolve
