"""infra/prometheus/prometheus.yml scrapes the local stack's worker and edge with the metrics token."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from schemas.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "infra" / "prometheus" / "prometheus.yml"


def test_both_jobs_send_the_token_from_a_file_and_target_the_default_ports() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    worker_port = Settings.model_fields["worker_web_port"].default
    edge_port = Settings.model_fields["pusher_port"].default
    assert jobs["chinook-pulse-worker"]["static_configs"][0]["targets"] == [f"127.0.0.1:{worker_port}"]
    assert jobs["chinook-pulse-edge"]["static_configs"][0]["targets"] == [f"127.0.0.1:{edge_port}"]
    for job in jobs.values():
        assert job["metrics_path"] == "/metrics"
        assert job["authorization"] == {"type": "Bearer", "credentials_file": "metrics_token"}


def test_the_token_file_is_never_committed() -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(CONFIG.parent / "metrics_token")], cwd=ROOT, capture_output=True
    )
    assert ignored.returncode == 0, "infra/prometheus/metrics_token must be git-ignored"
