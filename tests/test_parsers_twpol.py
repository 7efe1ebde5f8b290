import pytest

from hostaudit.parsers.twpol import PolicyError, coverage, mask_properties, parse_policy

# The document's addition, as twadmin accepts it (the document prints it without "->").
DOC_RULES = """\
SEC_CONFIG = $(IgnoreNone)-SHa ;
(rulename = "Critical Configuration Files", severity = 100)
{
  /etc/passwd        -> $(SEC_CONFIG) ;
  /var/qmail/bin     -> $(SEC_CONFIG) (recurse=1);
  /var/qmail/control -> $(SEC_CONFIG) (recurse=1);
}
"""


def _rule(rules, path):
    return next(r for r in rules if r["path"] == path)


def test_variable_mask_is_expanded_to_the_properties_it_checks():
    rule = _rule(parse_policy(DOC_RULES), "/var/qmail/bin")
    assert rule["mask"] == "$(SEC_CONFIG)"
    assert rule["properties"] == "bcdgimnprstuCM"
    assert (rule["recurse"], rule["line"], rule["stop"]) == (1, 5, False)


def test_unsigned_letters_are_added_and_minus_removes():
    assert mask_properties("pn-g") == "np"
    assert mask_properties("+pinug-ug") == "inp"


def test_block_attributes_apply_to_the_rules_inside_and_rule_attributes_override():
    rules = parse_policy("(recurse = false) {\n /a -> +p;\n /b -> +p (recurse=true);\n}\n/c -> +p;\n")
    assert [r["recurse"] for r in rules] == [0, -1, -1]


def test_stop_point_and_quoted_name_with_hash_sign():
    rules = parse_policy('!/etc/rc.d ;\n"/srv/a #1" -> +p ; # comment\n')
    assert [(r["path"], r["stop"]) for r in rules] == [("/etc/rc.d", True), ("/srv/a #1", False)]


def test_ifhost_keeps_only_the_branch_of_the_named_host():
    text = "@@ifhost rudolph || blitzen\n/a -> +pM;\n@@else\n/b -> +pM;\n@@endif\n"
    assert [r["path"] for r in parse_policy(text, hostname="rudolph")] == ["/a"]
    assert [r["path"] for r in parse_policy(text, hostname="comet")] == ["/b"]


def test_ifhost_without_a_known_hostname_marks_both_branches_conditional():
    rules = parse_policy("@@ifhost rudolph\n/a -> +pM;\n@@else\n/b -> +pM;\n@@endif\n")
    assert [r["condition"] for r in rules] == ["@@ifhost rudolph", "not @@ifhost rudolph"]


def test_sections_other_than_fs_are_skipped_and_end_stops_reading():
    text = "@@section GLOBAL\nD = /var/qmail;\n@@section NTFS\nC:\\x -> +p;\n@@section FS\n$(D)/bin -> +pM;\n@@end\n/z -> +p;\n"
    assert [r["path"] for r in parse_policy(text)] == ["/var/qmail/bin"]


def test_hostname_variable_is_the_targets_name_or_kept_unresolved():
    assert parse_policy("/var/lib/tripwire/$(HOSTNAME).twd -> +pM;", hostname="rudolph")[0]["path"] == \
        "/var/lib/tripwire/rudolph.twd"
    assert parse_policy("/var/lib/tripwire/$(HOSTNAME).twd -> +pM;")[0]["path"] == "/var/lib/tripwire/$(HOSTNAME).twd"


def test_documents_rule_without_arrow_is_refused_naming_the_line():
    with pytest.raises(PolicyError, match="line 2: expected 'object -> mask;'"):
        parse_policy("SEC_CONFIG = +pM;\n/var/qmail/bin $(SEC_CONFIG) (recurse=1);\n")


@pytest.mark.parametrize("text, message", [
    ("/a -> $(NoSuchMask);", "undefined variable"),
    ("/a -> +pQ;", "not a property letter"),
    ("/a -> +p", "without a terminating"),
    ("(recurse=0) {\n/a -> +p;\n", "not closed"),
    ("@@ifhost x\n/a -> +p;\n", "without @@endif"),
    ("relative -> +p;", "not an absolute path"),
    ("/a -> +p (recurse=maybe);", "recurse='maybe'"),
    ("/a -> ;", "without a property mask"),
])
def test_text_tripwire_would_refuse_is_an_error(text, message):
    with pytest.raises(PolicyError, match=message):
        parse_policy(text)


def test_documents_rules_cover_qmail_directories():
    found = coverage(parse_policy(DOC_RULES), "/var/qmail/control")
    assert found["rule"]["path"] == "/var/qmail/control" and found["reason"] == ""


def test_most_specific_rule_carves_its_subtree_out_of_enclosing_rules():
    # Measured with tripwire --init: /t/a/b/g is in no database when /t/a/b has recurse=0.
    rules = parse_policy("/ -> $(ReadOnly);\n/var -> +tpug (recurse=0);\n")
    found = coverage(rules, "/var/qmail/bin")
    assert found["rule"]["path"] == "/var"
    assert "recurse=0" in found["reason"]


def test_recurse_one_above_the_directory_does_not_reach_its_files():
    found = coverage(parse_policy("/var/qmail -> $(ReadOnly) (recurse=1);"), "/var/qmail/bin")
    assert "recurse=1" in found["reason"]


def test_stop_point_between_rule_and_path_excludes_it():
    found = coverage(parse_policy("/var/qmail -> $(ReadOnly);\n!/var/qmail/bin;\n"), "/var/qmail/bin")
    assert found["reason"] == "the stop point !/var/qmail/bin excludes /var/qmail/bin"


def test_stop_point_inside_the_path_is_a_hole():
    found = coverage(parse_policy("/var/qmail -> $(ReadOnly);\n!/var/qmail/bin/qmail-smtpd;\n"), "/var/qmail/bin")
    assert found["reason"] == ""
    assert [h["path"] for h in found["holes"]] == ["/var/qmail/bin/qmail-smtpd"]


def test_rule_named_by_an_unknown_variable_makes_coverage_conditional():
    rules = parse_policy("$(QMAILDIR) -> $(ReadOnly);\n/var/qmail/bin -> $(ReadOnly);\n")
    found = coverage(rules, "/var/qmail/bin")
    assert [r["path"] for r in found["conditional"]] == ["$(QMAILDIR)"]
