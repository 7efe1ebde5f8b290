from hostaudit.parsers.pam import control_denies_on_failure, parse_pam

REDHAT_SU = """#%PAM-1.0
auth       sufficient   /lib/security/pam_rootok.so
# Uncomment the following line to implicitly trust users in the "wheel" group.
#auth       sufficient   /lib/security/pam_wheel.so trust use_uid
auth       required     /lib/security/pam_stack.so service=system-auth
"""


def test_rule_by_full_path_gets_bare_name():
    rules = parse_pam(REDHAT_SU)
    assert rules[0] == {"type": "auth", "control": "sufficient", "module": "/lib/security/pam_rootok.so",
                        "name": "pam_rootok.so", "args": [], "line": 2, "commented": False}


def test_commented_rule_is_kept_and_marked_but_prose_is_skipped():
    rules = parse_pam(REDHAT_SU)
    assert [(r["name"], r["line"], r["commented"]) for r in rules] == [
        ("pam_rootok.so", 2, False), ("pam_wheel.so", 4, True), ("pam_stack.so", 5, False)]


def test_bracket_control_and_include():
    rules = parse_pam("auth [success=ok default=die] pam_wheel.so use_uid\n@include common-auth\n")
    assert rules[0]["control"] == "[success=ok default=die]"
    assert rules[0]["args"] == ["use_uid"]
    assert rules[1] == {"include": "common-auth", "line": 2, "commented": False}


def test_malformed_lines_are_skipped():
    assert parse_pam("auth\nauth required\nnonsense here\n") == []


def test_controls_that_deny():
    assert control_denies_on_failure("required")
    assert control_denies_on_failure("requisite")
    assert control_denies_on_failure("[success=ok default=die]")
    assert not control_denies_on_failure("sufficient")
    assert not control_denies_on_failure("[success=ok default=ignore]")
