"""Decide whether an IAM policy document allows a request, offline: the evaluation logic of the IAM User Guide
("Policy evaluation logic", "IAM JSON policy elements: Condition operators") for the elements our documents
use. An explicit Deny wins; otherwise an Allow must match; otherwise the request is implicitly denied.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

NEGATED = {"StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike"}


def _listed(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def _matches(patterns: Any, value: str, case_sensitive: bool = True) -> bool:
    if case_sensitive:
        return any(fnmatchcase(value, p) for p in _listed(patterns))
    return any(fnmatchcase(value.lower(), p.lower()) for p in _listed(patterns))


def _condition_holds(operator: str, key: str, expected: Any, context: dict[str, str]) -> bool:
    if operator == "Null":  # "true": the key must be absent; "false": present
        return (key not in context) == (str(_listed(expected)[0]).lower() == "true")
    if key not in context:
        return operator in NEGATED  # a missing key matches only the negated operators
    actual = context[key]
    positive = operator.replace("Not", "")
    if positive in ("StringEquals", "ArnEquals"):
        found = actual in _listed(expected)
    elif positive in ("StringLike", "ArnLike"):
        found = _matches(expected, actual)
    elif positive == "Bool":
        found = actual.lower() in [str(v).lower() for v in _listed(expected)]
    else:
        raise NotImplementedError(f"condition operator {operator}")
    return not found if operator in NEGATED else found


def _applies(statement: dict[str, Any], action: str, resource: str, context: dict[str, str]) -> bool:
    if "Action" in statement and not _matches(statement["Action"], action, case_sensitive=False):
        return False
    if "NotAction" in statement and _matches(statement["NotAction"], action, case_sensitive=False):
        return False
    if not _matches(statement.get("Resource", "*"), resource):
        return False
    return all(_condition_holds(operator, key, expected, context)
               for operator, keys in statement.get("Condition", {}).items() for key, expected in keys.items())


def decide(document: dict[str, Any], action: str, resource: str = "*", context: dict[str, str] | None = None) -> str:
    """"Allow", "Deny" (an explicit deny matched) or "ImplicitDeny"."""
    matched = [s["Effect"] for s in document["Statement"] if _applies(s, action, resource, context or {})]
    if "Deny" in matched:
        return "Deny"
    return "Allow" if "Allow" in matched else "ImplicitDeny"
