"""The EC2 instance types node groups may use: vCPUs, memory and GPUs of each.

Config validation uses it (a node group must have one CPU/memory shape, GPU groups need NVIDIA GPUs),
and so do cluster-autoscaler's scale-from-zero hints. Figures from the EC2 instance type specifications
(docs.aws.amazon.com/ec2/latest/instancetypes: general purpose, compute optimized, memory optimized,
accelerated computing). Only x86_64 families: the node groups run the AL2023 x86_64 AMIs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: int
    memory_gib: float
    gpus: int = 0
    accelerator: str | None = None  # the `k8s.amazonaws.com/accelerator` label value, e.g. nvidia-l4

    @property
    def family(self) -> str:
        return self.name.partition(".")[0]

    @property
    def size(self) -> str:
        return self.name.partition(".")[2]

    @property
    def pulls_in_parallel(self) -> bool:
        """Whether nodeadm turns FastImagePull on here: 4 vCPU and 7 GiB or more
        (awslabs/amazon-eks-ami nodeadm/internal/containerd/config.go, UseSOCISnapshotter)."""
        return self.vcpus >= 4 and self.memory_gib >= 7

    @property
    def shape(self) -> tuple[int, float]:
        """What cluster-autoscaler assumes every node of a group has (CPU, memory)."""
        return self.vcpus, self.memory_gib


# Sizes of the regular families: vCPUs per size; memory is vCPUs times the family's GiB per vCPU.
_SIZES = {"large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32, "12xlarge": 48,
          "16xlarge": 64, "24xlarge": 96, "32xlarge": 128, "48xlarge": 192}
_GIB_PER_VCPU = {
    # general purpose
    "m5": 4, "m5a": 4, "m6i": 4, "m6a": 4, "m7i": 4, "m7a": 4,
    # compute optimized
    "c5": 2, "c6i": 2, "c6a": 2, "c7i": 2, "c7a": 2,
    # memory optimized
    "r5": 8, "r6i": 8, "r6a": 8, "r7i": 8, "r7a": 8,
}
# Sizes each regular family does not offer.
# (c5 has 9xlarge and 18xlarge instead of 8xlarge and 16xlarge; the 7i families skip 32xlarge.)
_MISSING = {"m5": {"32xlarge", "48xlarge"}, "m5a": {"32xlarge", "48xlarge"},
            "c5": {"8xlarge", "16xlarge", "32xlarge", "48xlarge"}, "r5": {"32xlarge", "48xlarge"},
            "m6i": {"48xlarge"}, "c6i": {"48xlarge"}, "r6i": {"48xlarge"},
            "m7i": {"32xlarge"}, "c7i": {"32xlarge"}, "r7i": {"32xlarge"}}

# NVIDIA GPU instances: name -> (vCPUs, memory GiB, GPUs). Accelerator per family.
_GPU_ACCELERATORS = {"g4dn": "nvidia-tesla-t4", "g5": "nvidia-a10g", "g6": "nvidia-l4", "g6e": "nvidia-l40s",
                     "p3": "nvidia-tesla-v100", "p4d": "nvidia-a100", "p4de": "nvidia-a100",
                     "p5": "nvidia-h100", "p5e": "nvidia-h200", "p5en": "nvidia-h200"}
_GPU_TYPES = {
    "g4dn.xlarge": (4, 16, 1), "g4dn.2xlarge": (8, 32, 1), "g4dn.4xlarge": (16, 64, 1),
    "g4dn.8xlarge": (32, 128, 1), "g4dn.12xlarge": (48, 192, 4), "g4dn.16xlarge": (64, 256, 1),
    "g4dn.metal": (96, 384, 8),
    "g5.xlarge": (4, 16, 1), "g5.2xlarge": (8, 32, 1), "g5.4xlarge": (16, 64, 1), "g5.8xlarge": (32, 128, 1),
    "g5.12xlarge": (48, 192, 4), "g5.16xlarge": (64, 256, 1), "g5.24xlarge": (96, 384, 4),
    "g5.48xlarge": (192, 768, 8),
    "g6.xlarge": (4, 16, 1), "g6.2xlarge": (8, 32, 1), "g6.4xlarge": (16, 64, 1), "g6.8xlarge": (32, 128, 1),
    "g6.12xlarge": (48, 192, 4), "g6.16xlarge": (64, 256, 1), "g6.24xlarge": (96, 384, 4),
    "g6.48xlarge": (192, 768, 8),
    "g6e.xlarge": (4, 32, 1), "g6e.2xlarge": (8, 64, 1), "g6e.4xlarge": (16, 128, 1), "g6e.8xlarge": (32, 256, 1),
    "g6e.12xlarge": (48, 384, 4), "g6e.16xlarge": (64, 512, 1), "g6e.24xlarge": (96, 768, 4),
    "g6e.48xlarge": (192, 1536, 8),
    "p3.2xlarge": (8, 61, 1), "p3.8xlarge": (32, 244, 4), "p3.16xlarge": (64, 488, 8),
    "p4d.24xlarge": (96, 1152, 8), "p4de.24xlarge": (96, 1152, 8),
    "p5.48xlarge": (192, 2048, 8), "p5e.48xlarge": (192, 2048, 8), "p5en.48xlarge": (192, 2048, 8),
}


def _catalogue() -> dict[str, InstanceType]:
    types = {}
    for family, ratio in _GIB_PER_VCPU.items():
        for size, vcpus in _SIZES.items():
            if size not in _MISSING.get(family, ()):
                name = f"{family}.{size}"
                types[name] = InstanceType(name, vcpus, vcpus * ratio)
    for name, (vcpus, memory, gpus) in _GPU_TYPES.items():
        types[name] = InstanceType(name, vcpus, memory, gpus, _GPU_ACCELERATORS[name.partition(".")[0]])
    return types


CATALOGUE: dict[str, InstanceType] = _catalogue()
GPU_FAMILIES = tuple(_GPU_ACCELERATORS)

