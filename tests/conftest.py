import os

import pytest
from support import RootBuilder


@pytest.fixture
def tmp_root(tmp_path):
    """An empty fixture root filesystem; build it with ``tmp_root.write(path, text)``."""
    return RootBuilder(tmp_path / "root")


@pytest.fixture
def require_root():
    if os.geteuid() != 0:
        pytest.skip("needs root")
