"""The README's generated tables, from the code that defines them.

`python -m tools.docs` rewrites each section between `<!-- generated:<name> -->` and `<!-- /generated:<name> -->`
in README.md; tests/test_docs.py fails when the README is stale.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def policies() -> str:
    sys.path.insert(0, str(ROOT / "policies"))
    from mlplatform_policies import ALL_POLICIES

    lines = [_row("Policy", "Level", "What must hold", "Control"), _row("---", "---", "---", "---")]
    lines += [_row(f"`{p.name}`", p.enforcement_level.value, p.what, p.control) for p in ALL_POLICIES]
    return "\n".join(lines)


def security_groups() -> str:
    from components.cluster import SECURITY_GROUP_RULES

    def ports(rule) -> str:
        if rule.protocol == "-1":
            return "all traffic"
        span = str(rule.from_port) if rule.from_port == rule.to_port else f"{rule.from_port}-{rule.to_port}"
        return f"{rule.protocol.upper()} {span}"

    names = {"cluster": "control plane", "node": "nodes"}
    lines = [_row("To", "From", "Ports", "Who needs it"), _row("---", "---", "---", "---")]
    lines += [_row(names[r.target], names[r.source], ports(r), r.needed_by) for r in SECURITY_GROUP_RULES]
    return "\n".join(lines)


SECTIONS: dict[str, Callable[[], str]] = {"policies": policies, "security-groups": security_groups}


def render(text: str) -> str:
    for name, make in SECTIONS.items():
        pattern = re.compile(rf"(<!-- generated:{name} -->\n)(?:.*?\n)?(<!-- /generated:{name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"README.md has no <!-- generated:{name} --> section")
        body = make()
        text = pattern.sub(lambda m, body=body: m.group(1) + body + "\n" + m.group(2), text)
    return text


def main() -> None:
    README.write_text(render(README.read_text()))


if __name__ == "__main__":
    main()
