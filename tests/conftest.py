import os

import pytest
from support import RootBuilder

from hostaudit.registry import load_all


@pytest.fixture(scope="session", autouse=True)
def _registered():
    """The test session is a composition root: every check and probe registered once."""
    load_all()


@pytest.fixture
def tmp_root(tmp_path):
    """An empty fixture root filesystem; build it with ``tmp_root.write(path, text)``."""
    return RootBuilder(tmp_path / "root")


@pytest.fixture
def require_root():
    if os.geteuid() != 0:
        pytest.skip("needs root")
