"""Target text made visible: every character that would act on a terminal or a page shows
as an escape instead, and ordinary text (any script) is left alone."""

from __future__ import annotations

import pytest

from hostaudit.visible import terminal_text, visible


@pytest.mark.parametrize("raw, shown", [
    ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),   # retitle the window
    ("\x1b[2J", "\\x1b[2J"),                        # clear the screen
    ("a\rb", "a\\rb"),                              # overwrite the line
    ("a\nScore 100 / 100", "a\\nScore 100 / 100"),  # fake a line of our own
    ("tab\there", "tab\\there"),
    ("\x00\x7f", "\\x00\\x7f"),
    ("\x9b2J", "\\x9b2J"),                          # C1 CSI
    ("evil\u202etxt.sh", "evil\\u202etxt.sh"),      # right-to-left override
    ("\u2066x\u2069", "\\u2066x\\u2069"),           # isolates
    ("zero\u200bwidth\ufeff", "zero\\u200bwidth\\ufeff"),
    ("bad\udcff\udc80name", "bad\\xff\\x80name"),   # undecodable bytes, as on disk
    ("\ud800", "\\ud800"),
])
def test_acting_characters_show_as_escapes(raw, shown):
    assert terminal_text(raw) == shown


@pytest.mark.parametrize("text", ["/etc/fstab", "Größe überschritten", "日本語", "[bold]x[/bold]",
                                  "C:\\path", "emoji 🙂"])
def test_ordinary_text_is_unchanged(text):
    assert terminal_text(text) == text


def test_kept_characters_stay_and_others_are_escaped():
    assert visible("line 1\n\tline 2\x1b", keep="\n\t") == "line 1\n\tline 2\\x1b"
