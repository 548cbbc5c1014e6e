"""What the policy tests share: each policy's level, the pack's findings of one policy on some resources (through the
analyzer, as a preview runs it), and the check every stack-policy case makes."""

from mlplatform_policies import ALL_POLICIES

from offline.analyzer import analyze

LEVEL = {p.name: p.enforcement_level.value for p in ALL_POLICIES}


def findings_of(pack, policy, resources):
    return [f for f in analyze(resources, pack) if f.policy == policy]


def assert_stack_case(pack, policy, good, bad, words, subject):
    """A stack policy passes `good`, and on `bad` reports only `subject`, at its level, saying `words` and a fix."""
    assert findings_of(pack, policy, good) == []
    findings = findings_of(pack, policy, bad)
    assert findings and all(words in f.report and "Fix: " in f.report for f in findings), [f.report for f in findings]
    assert {f.urn.rsplit("::", 1)[1] for f in findings} == {subject}
    assert {f.level for f in findings} == {LEVEL[policy]}
