"""The README's generated tables are the code's: regenerate with `make docs` when this fails."""

from tools import docs


def test_readme_tables_are_current():
    text = docs.README.read_text()
    assert docs.render(text) == text, "README.md is stale: run `make docs`"


def test_every_policy_and_rule_has_a_row():
    from mlplatform_policies import ALL_POLICIES

    from components.cluster import SECURITY_GROUP_RULES

    table = docs.policies()
    assert all(f"`{p.name}`" in table for p in ALL_POLICIES)
    assert len(docs.security_groups().splitlines()) == len(SECURITY_GROUP_RULES) + 2
