import pytest

from hostaudit.parsers.versions import compare_versions


@pytest.mark.parametrize(("a", "b", "order"), [
    ("3.0.11-1~deb12u2", "3.0.11", 1),
    ("3.0.9-1", "3.0.11", -1),
    ("1.0~rc1", "1.0", -1),
    ("1:1.0-1", "3.0.11", 1),
    ("2.4.18", "2.4.18", 0),
    ("1.0a", "1.0", 1),
])
def test_versions_compare_as_dpkg_does(a, b, order):
    assert compare_versions(a, b) == order
