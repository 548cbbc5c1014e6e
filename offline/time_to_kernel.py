"""From "Launch" in the notebook form to a running kernel on a GPU node: how long it takes, per GPU node group.

Read from what the program registers, as `pulumi up` would build it: the group's instance type, its launch template
(root volume throughput, the image cache volume, nodeadm's FastImagePull in the user data), whether notebook images
come through the stack's ECR mirror of ghcr.io, and the group's warm-hours actions. Each step weighs its typical
time from offline/time_to_kernel.yaml, where every figure says where it comes from.

Cold: the group is at zero, so cluster-autoscaler starts a node. Warm: a node of the group is up and has the image.
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.cluster.node_group import GPU_TAINT_KEY
from components.instance_types import CATALOGUE
from offline import cost
from offline.engine import Registered
from offline.tree import ResourceTree

TABLE_FILE = Path(__file__).with_name("time_to_kernel.yaml")
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
MIRROR = "aws:ecr/pullThroughCacheRule:PullThroughCacheRule"
MB_PER_MIB = 1.048576
# What a warm node would cost when a group has none configured: 08:00-19:00 on weekdays.
REFERENCE_WARM = ("0 8 * * MON-FRI", "0 19 * * MON-FRI")


@functools.cache
def table() -> dict[str, Any]:
    return yaml.safe_load(TABLE_FILE.read_text())


@dataclass(frozen=True)
class Step:
    key: str
    what: str
    seconds: float
    basis: str
    source: str


@dataclass(frozen=True)
class GroupTime:
    group: str               # the node group's name in the stack (nodeGroups[].name)
    instance_type: str
    image: str               # how a new node gets the image, in words
    cold: list[Step]
    warm: list[Step]
    warm_hours_month: float  # 0 when the group has no warm hours
    warm_node_month: float   # USD: the configured warm hours, or REFERENCE_WARM when there are none

    @property
    def cold_seconds(self) -> float:
        return sum(s.seconds for s in self.cold)

    @property
    def warm_seconds(self) -> float:
        return sum(s.seconds for s in self.warm)


def _step(key: str) -> Step:
    row = table()["steps"][key]
    return Step(key, row["what"], row["seconds"], row["basis"], row["source"])


def _is_gpu(group: Registered) -> bool:
    return any(t.get("key") == GPU_TAINT_KEY for t in group.inputs.get("taints") or [])


def _template(group: Registered, tree: ResourceTree) -> Registered:
    [urn] = group.property_dependencies["launchTemplate"]
    return tree.by_urn[urn]


def _fast_image_pull(template: Registered, instance_type: str) -> bool:
    data = template.inputs.get("userData")
    if not data:
        return False
    return "FastImagePull: true" in base64.b64decode(data).decode() and CATALOGUE[instance_type].pulls_in_parallel


def pull_step(mirror: bool, parallel: bool, root_mibps: int) -> Step:
    """Pulling and unpacking the CUDA image on a new node: its size over the effective rate, capped by the disk."""
    key = ("mirror" if mirror else "ghcr") + ("_parallel" if parallel else "")
    rate = table()["pull_mb_per_s"][key]
    size = table()["image_gb"]
    effective = min(rate["value"], root_mibps * MB_PER_MIB)
    capped = f"; capped at the root volume's {root_mibps} MiB/s" if effective < rate["value"] else ""
    source = f"{size['value']} GB ({size['source']}) at {effective:.0f} MB/s: {rate['source']}{capped}"
    where = "the stack's ECR mirror" if mirror else "ghcr.io through the NAT gateway"
    how = "in parallel (FastImagePull)" if parallel else "with containerd's default pull"
    return Step("pull", f"the image is pulled from {where} and unpacked {how}",
                round(size["value"] * 1000 / effective), "derived", source)


def of_stack(resources: list[Registered], profile: str, prices: cost.PriceTable | None = None) -> list[GroupTime]:
    prices = prices or cost.PriceTable.load()
    tree = ResourceTree(resources)
    ctx = cost.Context(prices, prices.usage(profile), tree)
    mirror = any(r.type == MIRROR and r.inputs.get("upstreamRegistryUrl") == "ghcr.io" for r in resources)
    out = []
    for group in sorted((r for r in resources if r.type == NODE_GROUP and _is_gpu(r)), key=lambda r: r.name):
        template = _template(group, tree)
        instance_type = group.inputs["instanceTypes"][0]
        mappings = template.inputs["blockDeviceMappings"]
        root = next(m["ebs"] for m in mappings if not m["ebs"].get("snapshotId"))
        cached = any(m["ebs"].get("snapshotId") for m in mappings)
        parallel = _fast_image_pull(template, instance_type)
        if cached:
            image_steps = [_step("image_cached"), _step("cache_hydration")]
            image = "from the image cache (an EBS snapshot)"
        else:
            image_steps = [pull_step(mirror, parallel, root.get("throughput", cost.GP3_BASE_MIBPS))]
            image = image_steps[0].what.removeprefix("the image is ")
        cold = [_step("submit"), _step("scale_up"), _step("launch"), _step("boot"), _step("device_plugin"),
                _step("volume"), *image_steps, _step("start"), _step("kernel")]
        warm = [_step("submit"), _step("volume"), _step("image_present"), _step("start"), _step("kernel")]
        hours = cost.warm_hours_of(group, resources, prices.hours)
        hourly, _ = cost.node_hour(group, ctx)
        reference = hours or cost.hours_per_month(*REFERENCE_WARM, prices.hours)
        out.append(GroupTime(group.name.removeprefix("cluster-").removesuffix("-ng"), instance_type, image, cold,
                             warm, hours, reference * hourly))
    return out

