"""What a test says when the real services it needs are not there."""

from __future__ import annotations

START_HINT = "start the services: `make test`, or `.venv/bin/chinook-pulse up --only postgres,kafka,connect`"
