"""Shared fixtures.

``data_dir`` points at the real public datasets (``$AUTOREC_DATA_DIR``, see
``/work/shared/data/README.md`` for the layout).  Tests that need them take this fixture and
are marked ``@pytest.mark.realdata``; without the variable they are skipped with a visible
reason instead of failing, so the suite still runs on a machine without the data.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def data_dir() -> Path:
    value = os.environ.get("AUTOREC_DATA_DIR")
    if not value:
        pytest.skip("AUTOREC_DATA_DIR not set: real-data test skipped")
    path = Path(value)
    if not path.is_dir():
        pytest.skip(f"AUTOREC_DATA_DIR={value} is not a folder: real-data test skipped")
    return path


def pytest_collection_modifyitems(config, items):
    # markers used consistently: a test that reads the real datasets is a realdata test,
    # whether or not its author remembered the mark (`-m "not realdata"` then really skips it)
    for item in items:
        if "data_dir" in getattr(item, "fixturenames", ()) and item.get_closest_marker("realdata") is None:
            item.add_marker(pytest.mark.realdata)
