"""One vocabulary, one place: the severity order is model.Severity's, everywhere."""

from hostaudit import cli, compare, gate, model
from hostaudit.model import Severity
from hostaudit.reports import present


def test_severity_order_is_defined_once_by_the_enum():
    assert Severity.order() == ("high", "medium", "low", "info")
    assert cli.SEVERITIES == gate.SEVERITIES == present.SEVERITY_ORDER == Severity.order()
    assert sorted(compare._SEVERITY_ORDER, key=compare._SEVERITY_ORDER.get) == list(Severity.order())
    assert [s.rank for s in Severity] == [0, 1, 2, 3]


def test_the_unused_mode_enum_is_gone():
    assert not hasattr(model, "Mode")
