"""Values the stack files ship with that stand in for an adopter's own: AWS's documentation accounts, the
documentation address ranges (RFC 5737) and domains (RFC 2606, RFC 6761), made-up zone and snapshot IDs.

Deployed as they are, they build something that works for no one: an admin role in an account nobody owns, a
public endpoint open to a range that reaches no one, a certificate for a domain that is not yours. The program (at
preview and up) and `make plan` name each one still in a stack file, key by key.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from typing import Any

DOCUMENTATION_ACCOUNTS = ("111122223333", "123456789012", "444455556666", "777788889999")
DOCUMENTATION_NETWORKS = tuple(ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"))
DOCUMENTATION_DOMAINS = ("example.com", "example.net", "example.org", "example", "test", "invalid", "localhost")
DOCUMENTATION_SNAPSHOTS = ("snap-0123456789abcdef0", "snap-1234567890abcdef0")


def why(value: str) -> str | None:
    """Why `value` is a placeholder, or None."""
    account = re.search(r":(\d{12}):", value)
    if account and account.group(1) in DOCUMENTATION_ACCOUNTS:
        return f"account {account.group(1)} is AWS's documentation example"
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        network = None
    if network is not None and any(network.overlaps(n) for n in DOCUMENTATION_NETWORKS):
        return "a documentation address range (RFC 5737) that reaches no one"
    domain = value.rsplit("@", 1)[-1].lower()
    if any(domain == d or domain.endswith(f".{d}") for d in DOCUMENTATION_DOMAINS):
        return "a documentation domain (RFC 2606), not yours"
    if re.fullmatch(r"Z[0-9A-Z]*EXAMPLE[0-9A-Z]*", value):
        return "a made-up Route 53 zone ID"
    if value in DOCUMENTATION_SNAPSHOTS:
        return "a documentation example snapshot ID"
    return None


def placeholders(config: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str, str]]:
    """(key, value, why) for every placeholder in a stack's `mlplatform:` settings (keys without the namespace)."""
    for key, value in config.items():
        yield from _walk(f"{prefix}{key}", value)


def _walk(key: str, value: Any) -> Iterator[tuple[str, str, str]]:
    if isinstance(value, Mapping):
        for sub, item in value.items():
            yield from _walk(f"{key}.{sub}", item)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            name = item.get("name") if isinstance(item, Mapping) else None
            yield from _walk(f"{key}[{name if isinstance(name, str) else index}]", item)
    elif isinstance(value, str):
        reason = why(value)
        if reason:
            yield key, value, reason
