"""What a `pulumi destroy` left behind: AWS resources still tagged as the stack's (the provider's default tags,
components/stack.py) or as its cluster's (what the load balancer controller and the EBS CSI driver tag their own
with), through the Resource Groups Tagging API. The ephemeral-stack test (tests/test_integration.py) requires none.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from components.config.base import PROJECT


class Tagging(Protocol):
    def get_resources(self, **kwargs: Any) -> dict[str, Any]: ...


def tag_filters(stack: str, cluster: str) -> list[list[dict[str, Any]]]:
    """Each list is one query (a resource matches all the filters of one list)."""
    return [
        [{"Key": "project", "Values": [PROJECT]}, {"Key": "pulumi-stack", "Values": [stack]}],
        [{"Key": "elbv2.k8s.aws/cluster", "Values": [cluster]}],      # load balancers the controller made
        [{"Key": f"kubernetes.io/cluster/{cluster}", "Values": ["owned"]}],  # volumes and the like
    ]


def leftovers(tagging: Tagging, stack: str, cluster: str) -> list[str]:
    """ARNs of what is still there, every page of every query."""
    found: set[str] = set()
    for filters in tag_filters(stack, cluster):
        token = ""
        while True:
            page = tagging.get_resources(TagFilters=filters, PaginationToken=token, ResourcesPerPage=100)
            found |= {r["ResourceARN"] for r in page.get("ResourceTagMappingList", [])}
            token = page.get("PaginationToken", "")
            if not token:
                break
    return sorted(found)


def wait_until_gone(tagging: Tagging, stack: str, cluster: str, timeout: float = 900, interval: float = 30,
                    sleep: Callable[[float], None] = time.sleep) -> list[str]:
    """The tagging API lags deletions by minutes: what is left once it stops shrinking, or at the timeout."""
    waited, left = 0.0, leftovers(tagging, stack, cluster)
    while left and waited < timeout:
        sleep(interval)
        waited += interval
        left = leftovers(tagging, stack, cluster)
    return left
