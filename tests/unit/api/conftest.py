from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.edge_harness import (
    Harness,
    make_harness,
)


@pytest.fixture
def harness() -> Iterator[Harness]:
    yield from make_harness()
