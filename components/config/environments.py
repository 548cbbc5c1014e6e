"""Environments, and what each one changes: the whole dev/prod difference in one place.

`ENVIRONMENTS` says which environments are production and whose defaults they take. Each tier's
`*_DEFAULTS` table gives the settings whose default depends on the environment; a stack file may still set
any of them. `PRODUCTION_REQUIREMENTS` lists what a production stack must not set otherwise, each as a
JSON Schema fragment: the program checks them before creating anything and the editor schema
(schema/stack-config.schema.json) carries them too.

Production also means, with no setting to change it: stateful resources `protect`ed and kept through a
destroy, deletion protection, final snapshots, secrets recoverable for 30 days, volumes retained when their
claims go, EFS backups, external-dns never deleting records (upsert-only), trusted Let's Encrypt
certificates, and the policy pack's production rules (it reads the `production` tag this program puts on
every AWS resource).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Environment:
    production: bool
    defaults: str  # whose entry in the *_DEFAULTS tables applies: "dev" or "prod"


ENVIRONMENTS: dict[str, Environment] = {
    "dev": Environment(production=False, defaults="dev"),
    "prod": Environment(production=True, defaults="prod"),
    # A staging environment sized like prod but not protected is one more line:
    #   "staging": Environment(production=False, defaults="prod"),
}

NETWORK_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {"natGateways": "single", "flowLogs": False},
    "prod": {"natGateways": "perAz", "flowLogs": True},
}
CLUSTER_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {"logRetentionDays": 30},
    "prod": {"logRetentionDays": 365},
}
DATABASE_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {"instanceClass": "db.t4g.small", "allocatedStorageGiB": 20, "backupRetentionDays": 7, "multiAz": False,
            "logRetentionDays": 30, "monitoringIntervalSeconds": 60},
    "prod": {"instanceClass": "db.m7g.large", "allocatedStorageGiB": 100, "backupRetentionDays": 14, "multiAz": True,
             "logRetentionDays": 365, "monitoringIntervalSeconds": 15},
}
SESSION_CACHE_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {"nodeType": "cache.t4g.micro", "nodes": 1},
    "prod": {"nodeType": "cache.m7g.large", "nodes": 2},
}
# KServe brings Knative Serving and a second gateway (~2 vCPU, 2.5 GiB requested between them): dev leaves it
# out to keep its three always-on nodes for notebooks and pipelines; prod runs every application.
# MLflow is a second tracking service next to Pipelines' own: prod runs it, dev when a stack asks.
KUBEFLOW_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {"pipelines": True, "notebooks": True, "katib": True, "trainer": True, "kserve": False, "mlflow": False},
    "prod": {"pipelines": True, "notebooks": True, "katib": True, "trainer": True, "kserve": True, "mlflow": True},
}
# An idle notebook keeps its node, and a GPU node is the dearest thing a stack runs: the notebook controller stops
# one whose kernels have been idle this long (upstream ships culling off). Its volume stays; Start brings it back.
NOTEBOOK_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {"cullIdleNotebooksMinutes": 60},
    "prod": {"cullIdleNotebooksMinutes": 240},
}
# Container Insights' node, pod and GPU metrics are billed per observation, which grows with every pod: prod has
# them; dev keeps the container logs (and the alarms on logs and on AWS's own metrics) inside its budget. Logs are
# the bulk of what CloudWatch bills otherwise: dev keeps a week, prod a quarter.
OBSERVABILITY_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {"containerInsights": "logs", "logRetentionDays": 7},
    "prod": {"containerInsights": "enhanced", "logRetentionDays": 90},
}
# istiod serves every pod's sidecar injection: prod keeps two, so a node drain (an upgrade) never leaves the mesh
# without it, and the chart's PodDisruptionBudget (made only above one replica) lets one go at a time.
MESH_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {"istiodReplicas": 1},
    "prod": {"istiodReplicas": 2},
}
ARTIFACT_STORE_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {"noncurrentVersionDays": 30},
    "prod": {"noncurrentVersionDays": 90},
}


@dataclass(frozen=True)
class Requirement:
    key: str                # the setting, as written in the stack file: "<top-level key>.<nested key>..."
    schema: dict[str, Any]  # what the value must satisfy (JSON Schema)
    fix: str                # the message: why, and what to set


PRODUCTION_REQUIREMENTS = (
    Requirement("network.availabilityZones", {"minItems": 3},
                "prod needs at least 3 AZs so losing one leaves a majority; add more"),
    Requirement("network.natGateways", {"const": "perAz"},
                "prod needs one NAT gateway per AZ so losing an AZ does not cut egress; set perAz"),
    Requirement("network.flowLogs", {"const": True}, "prod keeps VPC flow logs for incident response; set true"),
    Requirement("nodeGroups", {"contains": {"properties": {"gpu": {"const": False}, "capacityType": {
        "const": "ON_DEMAND"}, "minSize": {"minimum": 2}}, "required": ["minSize"]}},
        "prod needs an ON_DEMAND CPU group with minSize >= 2, so a node can drain (upgrades, AZ loss) while the "
        "platform keeps running"),
    Requirement("data.database.backupRetentionDays", {"minimum": 14},
                "prod keeps at least 14 days of backups for point-in-time restore"),
    Requirement("data.database.multiAz", {"const": True}, "prod runs the database in two AZs; set true"),
    Requirement("data.sessionCache.nodes", {"minimum": 2},
                "prod needs a replica in a second AZ for automatic failover; set 2 or more"),
)
