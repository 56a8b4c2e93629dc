"""The tampering indexer, one process per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fakes import Fake


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fake]:
    indexer = Fake(tmp_path_factory.mktemp("tampering"))
    yield indexer
    indexer.process.terminate()
    indexer.process.wait(timeout=10)
