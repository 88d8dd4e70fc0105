"""Deployment files: compose.yaml is valid for docker-compose (no engine runs here)."""
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_compose_file_is_valid():
    res = subprocess.run(["docker-compose", "-f", os.path.join(ROOT, "compose.yaml"),
                          "config", "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr


def test_every_service_has_a_dockerfile():
    services = [d for d in os.listdir(os.path.join(ROOT, "services"))
                if os.path.exists(os.path.join(ROOT, "services", d, "main.c"))]
    assert services
    for name in services:
        assert os.path.exists(os.path.join(ROOT, "docker", f"Dockerfile.{name}")), name


def test_branch_gateway_compose_file_is_valid():
    env = dict(os.environ, EQMS_REGION_BUS="region.example.org",
               EQMS_GATEWAY_BRANCH="hq.r01.b0001")
    res = subprocess.run(["docker-compose", "-f",
                          os.path.join(ROOT, "docker", "compose.gateway.yaml"), "config", "-q"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                         env=env)
    assert res.returncode == 0, res.stderr
