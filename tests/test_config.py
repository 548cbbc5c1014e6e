"""Bad configuration fails with one message naming the key and the fix, and registers nothing; the editor
schema rejects each bad value too, except relations between values, which only the program can judge."""

import json

import jsonschema
import pytest

from components.config import ConfigError
from offline.engine import ROOT
from tests.fixtures import evaluate, stack_config

SCHEMA = jsonschema.Draft7Validator(json.loads((ROOT / "schema" / "stack-config.schema.json").read_text()))


def schema_rejects(stack, change) -> bool:
    config = stack_config(stack)
    change(config)
    return not SCHEMA.is_valid({"config": config})


def _failing(stack, change):
    result = evaluate(stack, change)
    assert isinstance(result.error, ConfigError), f"expected a ConfigError, got {result.error!r}"
    assert result.resources == [], "a resource was registered before validation failed"
    return str(result.error)


def _net(key, value):
    return lambda c: c["mlplatform:network"].__setitem__(key, value)


def _cluster(key, value):
    return lambda c: c["mlplatform:cluster"].__setitem__(key, value)


def _group(index, key, value):
    return lambda c: c["mlplatform:nodeGroups"][index].__setitem__(key, value)


def _drop(section, key):
    return lambda c: c[section].pop(key)


CASES = [
    # (id, stack, change, key named, words of the fix)
    ("malformed-cidr", "dev", _net("vpcCidr", "10.0.0.0/33"), "network.vpcCidr",
     "not a private (RFC 1918) IPv4 network from /16 to /19"),
    ("cidr-host-bits", "dev", _net("vpcCidr", "10.0.0.1/16"), "network.vpcCidr", "not a valid IPv4"),
    ("cidr-too-small", "dev", _net("vpcCidr", "10.0.0.0/22"), "network.vpcCidr", "from /16 to /19"),
    ("cidr-public", "dev", _net("vpcCidr", "8.8.0.0/16"), "network.vpcCidr", "RFC 1918"),
    ("missing-cidr", "dev", _drop("mlplatform:network", "vpcCidr"), "network.vpcCidr",
     "is required: the VPC's private IPv4 range, /16 to /19 (private subnets get 1/8 of it each for pod IPs); "
     "`pulumi config set --path 'mlplatform:network.vpcCidr' <value>`"),
    ("one-az", "dev", _net("availabilityZones", ["us-east-1a"]), "network.availabilityZones",
     "needs at least 2, got 1"),
    ("prod-two-azs", "prod", _net("availabilityZones", ["us-east-1a", "us-east-1b"]),
     "network.availabilityZones", "prod needs at least 3 AZs"),
    ("az-other-region", "dev", _net("availabilityZones", ["us-east-1a", "eu-west-1b"]),
     "network.availabilityZones", "not an AZ of region 'us-east-1'"),
    ("az-twice", "dev", _net("availabilityZones", ["us-east-1a", "us-east-1a"]),
     "network.availabilityZones", "lists an AZ twice"),
    ("prod-single-nat", "prod", _net("natGateways", "single"), "network.natGateways", "set perAz"),
    ("nat-mode", "dev", _net("natGateways", "many"), "network.natGateways", "one of single, perAz"),
    ("prod-no-flow-logs", "prod", _net("flowLogs", False), "network.flowLogs", "set true"),
    ("retention", "prod", _net("flowLogRetentionDays", 100), "network.flowLogRetentionDays",
     "must be one of 1, 3, 5, 7, 14, 30, 60, 90"),
    ("unknown-top-key", "dev", lambda c: c.__setitem__("mlplatform:netwrok", {}), "netwrok",
     "did you mean 'network'"),
    ("unknown-nested-key", "dev", _net("vpcCIDR", "10.0.0.0/16"), "network.vpcCIDR",
     "did you mean 'vpcCidr'"),
    ("unknown-group-key", "dev", _group(0, "minsize", 1), "nodeGroups[system].minsize",
     "did you mean 'minSize'"),
    ("k8s-version", "dev", _cluster("kubernetesVersion", "1.30"), "cluster.kubernetesVersion",
     "must be one of 1.35"),
    ("open-endpoint", "dev", _cluster("publicAccessCidrs", ["0.0.0.0/0"]), "cluster.publicAccessCidrs",
     "never 0.0.0.0/0, which opens the API to everyone"),
    ("bad-endpoint-cidr", "dev", _cluster("publicAccessCidrs", ["office"]), "cluster.publicAccessCidrs",
     "is not an IPv4 CIDR such as 203.0.113.0/24"),
    ("public-private-cidr", "dev", _cluster("privateAccessCidrs", ["203.0.113.0/24"]), "cluster.privateAccessCidrs",
     "is not a private (RFC 1918) IPv4 network such as 10.100.0.0/24"),
    ("no-admins", "dev", _cluster("adminRoleArns", []), "cluster.adminRoleArns",
     "`pulumi config set --path 'mlplatform:cluster.adminRoleArns[0]' <value>`"),
    ("cluster-name-double-hyphen", "dev", _cluster("name", "ml--dev"), "cluster.name",
     "single hyphens, starting with a letter and not ending in a hyphen"),
    ("cluster-name-trailing-hyphen", "dev", _cluster("name", "ml-dev-"), "cluster.name", "not ending in a hyphen"),
    # us-east-1: the access-log bucket <name>-access-logs-<account>-us-east-1 holds 28 characters of name
    ("cluster-name-too-long", "dev", _cluster("name", "a" * 29), "cluster.name",
     f"{'a' * 29}-access-logs-<account>-us-east-1 would pass S3's 63: set a name of at most 28 characters"),
    ("admin-not-role", "dev", _cluster("adminRoleArns", ["arn:aws:iam::111122223333:user/bob"]),
     "cluster.adminRoleArns", "not an IAM role ARN"),
    ("admin-twice", "dev", _cluster("adminRoleArns", ["arn:aws:iam::111122223333:role/a"] * 2),
     "cluster.adminRoleArns", "is listed twice"),
    ("deployer-also-admin", "dev", _cluster("adminRoleArns", ["arn:aws:iam::111122223333:role/mlplatform-deploy-dev"]),
     "cluster.adminRoleArns", "or is also cluster.deployRoleArn"),
    ("same-role-name", "dev", _cluster("adminRoleArns", ["arn:aws:iam::111122223333:role/admin",
                                                          "arn:aws:iam::444455556666:role/admin"]),
     "cluster.adminRoleArns", "two roles are named 'admin'"),
    ("deployer-not-role", "dev", _cluster("deployRoleArn", "mlplatform-deploy-dev"), "cluster.deployRoleArn",
     "not an IAM role ARN"),
    ("addon-pin-unknown", "dev", _cluster("addonVersions", {"coredn": "v1.13.1-eksbuild.1"}),
     "cluster.addonVersions.coredn", "must be one of vpc-cni, kube-proxy"),
    ("addon-pin-format", "dev", _cluster("addonVersions", {"coredns": "latest"}),
     "cluster.addonVersions.coredns", "not an EKS add-on version"),
    ("min-over-desired", "dev", _group(0, "minSize", 4), "nodeGroups[system]",
     "minSize <= desiredSize <= maxSize, got 4 <= 3 <= 6"),
    ("desired-over-max", "dev", _group(0, "desiredSize", 9), "nodeGroups[system]",
     "got 3 <= 9 <= 6"),
    ("size-not-number", "dev", _group(0, "maxSize", "four"), "nodeGroups[system].maxSize",
     "must be a whole number"),
    ("size-bool", "dev", _group(0, "maxSize", True), "nodeGroups[system].maxSize",
     "must be a whole number"),
    ("gpu-on-cpu-type", "dev", _group(1, "instanceTypes", ["m6i.2xlarge"]), "nodeGroups[gpu-xlarge].instanceTypes",
     "m6i.2xlarge has no NVIDIA GPU"),
    ("gpu-type-in-cpu-group", "dev", _group(0, "instanceTypes", ["g5.xlarge"]),
     "nodeGroups[system].instanceTypes", "set gpu: true"),
    ("gpu-wrong-ami", "dev", _group(1, "amiType", "AL2023_x86_64_STANDARD"), "nodeGroups[gpu-xlarge].amiType",
     "must use AL2023_x86_64_NVIDIA"),
    ("gpu-mixed-models", "dev", _group(1, "instanceTypes", ["g5.xlarge", "g6.xlarge"]),
     "nodeGroups[gpu-xlarge].instanceTypes", "mixes shapes"),
    ("gpu-mixed-sizes", "dev", _group(1, "instanceTypes", ["g6.xlarge", "g6.2xlarge"]),
     "nodeGroups[gpu-xlarge].instanceTypes", "use one size per group"),
    ("cpu-mixed-sizes", "dev", _group(0, "instanceTypes", ["m6i.2xlarge", "m6i.4xlarge"]),
     "nodeGroups[system].instanceTypes", "mixes shapes"),
    ("unknown-instance-type", "dev", _group(0, "instanceTypes", ["m9z.2xlarge"]),
     "nodeGroups[system].instanceTypes", "not in the instance catalogue"),
    ("capacity-type", "dev", _group(1, "capacityType", "spot"), "nodeGroups[gpu-xlarge].capacityType",
     "must be one of ON_DEMAND, SPOT"),
    ("disk-too-small", "dev", _group(0, "diskSizeGiB", 8), "nodeGroups[system].diskSizeGiB",
     "between 20 and 16384"),
    ("duplicate-group", "dev", _group(1, "name", "system"), "nodeGroups", "used twice"),
    ("no-cpu-group", "dev", lambda c: c.__setitem__("mlplatform:nodeGroups",
                                                      c["mlplatform:nodeGroups"][1:]),
     "nodeGroups", "add a CPU group"),
    ("prod-small-system", "prod", _group(0, "minSize", 1), "nodeGroups",
     "ON_DEMAND CPU group with minSize >= 2"),
    ("no-node-groups", "dev", lambda c: c.pop("mlplatform:nodeGroups"), "nodeGroups", "is required"),
    ("environment", "dev", lambda c: c.__setitem__("mlplatform:environment", "qa"), "environment",
     "must be one of dev, prod, got 'qa'; a new environment is one entry in ENVIRONMENTS, "
     "components/config/environments.py"),
    ("no-environment", "dev", lambda c: c.pop("mlplatform:environment"), "environment",
     "`pulumi config set --path 'mlplatform:environment' <value>`"),
    ("missing-section", "dev", lambda c: c.pop("mlplatform:mesh"), "mesh",
     "write the `mesh` map in Pulumi.<stack>.yaml"),
    ("missing-group-key", "dev", lambda c: c["mlplatform:nodeGroups"][0].pop("maxSize"), "nodeGroups[system].maxSize",
     "add `maxSize:` to that entry of nodeGroups in Pulumi.<stack>.yaml"),
    ("reserved-tag", "dev", lambda c: c.__setitem__("mlplatform:tags", {"aws:owner": "x"}),
     "tags.aws:owner", "reserved by AWS"),
    ("section-not-map", "dev", lambda c: c.__setitem__("mlplatform:cluster", "big"), "cluster",
     "must be a map of settings"),
    ("addons-not-map", "dev", lambda c: c.__setitem__("mlplatform:addons", ["dns"]), "addons",
     "must be a map of settings"),
    ("nested-not-map", "dev", lambda c: c["mlplatform:data"].__setitem__("sessionCache", 2), "data.sessionCache",
     "must be a map of settings"),
]


# What JSON Schema cannot say: it compares no two values, and does no arithmetic.
PROGRAM_ONLY = {"cidr-host-bits": "host bits are arithmetic on the address",
                "az-other-region": "compares an AZ with aws:region",
                "deployer-also-admin": "compares two keys", "same-role-name": "compares parts of two values",
                "min-over-desired": "compares two sizes", "desired-over-max": "compares two sizes",
                "gpu-mixed-models": "compares instance types' specs",
                "gpu-mixed-sizes": "compares instance types' specs",
                "cpu-mixed-sizes": "compares instance types' specs", "duplicate-group": "compares items' names",
                "no-cpu-group": "a rule over all groups",
                "cluster-name-too-long": "depends on the region's length"}


@pytest.mark.parametrize("stack,change", [c[1:3] for c in CASES if c[0] not in PROGRAM_ONLY],
                         ids=[c[0] for c in CASES if c[0] not in PROGRAM_ONLY])
def test_the_editor_schema_rejects_it_too(stack, change):
    assert schema_rejects(stack, change)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_stack_files_match_the_schema(stack):
    assert list(SCHEMA.iter_errors({"config": stack_config(stack)})) == []


@pytest.mark.parametrize("stack,change,key,fix", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_value_is_rejected_naming_key_and_fix(stack, change, key, fix):
    message = _failing(stack, change)
    line = next((ln for ln in message.splitlines() if f"mlplatform:{key}:" in ln), None)
    assert line is not None, f"no line names mlplatform:{key} in:\n{message}"
    assert fix in line, f"the line for {key} does not say {fix!r}: {line}"


def test_a_default_cluster_name_too_long_for_the_region_says_to_set_one():
    """mlplatform-<stack> from a long stack name, in a region with a long name: the derived bucket would not fit."""
    from components.config import parse

    config = stack_config("dev")
    raw = {k.removeprefix("mlplatform:"): v for k, v in config.items() if k.startswith("mlplatform:")}
    raw["network"]["availabilityZones"] = ["ap-southeast-2a", "ap-southeast-2b"]
    with pytest.raises(ConfigError) as failed:
        parse(raw, region="ap-southeast-2", stack="production-sydney")
    assert "mlplatform:cluster.name: 'mlplatform-production-sydney' (the default, mlplatform-<stack>) is 28 " \
           "characters; in ap-southeast-2 the access-log bucket" in str(failed.value)
    assert "at most 23 characters" in str(failed.value)


def test_missing_region_is_named():
    message = _failing("dev", lambda c: c.pop("aws:region"))
    assert "aws:region: is required" in message


def test_every_problem_is_reported_at_once():
    def two_mistakes(c):
        c["mlplatform:network"]["vpcCidr"] = "nonsense"
        c["mlplatform:nodeGroups"][0]["minSize"] = 5

    message = _failing("dev", two_mistakes)
    assert "mlplatform:network.vpcCidr" in message
    assert "mlplatform:nodeGroups[system]:" in message


def test_defaults_follow_environment(dev_variant, prod_variant):
    # Both variants omit the NAT and flow-log settings: each takes its environment's safe default.
    assert len(prod_variant.of_type("aws:ec2/natGateway:NatGateway")) == 3
    assert len(prod_variant.of_type("aws:ec2/flowLog:FlowLog")) == 1
    assert len(dev_variant.of_type("aws:ec2/natGateway:NatGateway")) == 1
    assert dev_variant.of_type("aws:ec2/flowLog:FlowLog") == []


def test_a_kubernetes_version_outside_a_components_range_is_rejected_before_anything_exists(monkeypatch):
    """Every version coupling is checked during validation: a minor added to versions.py that some pinned
    component does not support fails with the component's range, not as a broken deploy later."""
    from components import versions
    from components.config import ClusterConfig

    monkeypatch.setitem(versions.KUBERNETES_SUPPORT, "Istio 1.30", ("1.32", "1.36"))
    cluster = ClusterConfig.model_construct(kubernetes_version="1.37", admin_role_arns=(), deploy_role_arn=None)
    assert ("kubernetesVersion", "1.37 is outside Istio 1.30's supported range 1.32-1.36; choose a version inside "
            "it or bump Istio 1.30 in components/versions.py") in list(cluster.rules({}))
    assert list(ClusterConfig.model_construct(kubernetes_version="1.35", admin_role_arns=(),
                                              deploy_role_arn=None).rules({})) == []


def test_every_kubernetes_version_carries_its_couplings():
    from components import versions

    for minor, version in versions.KUBERNETES_VERSIONS.items():
        assert version.cluster_autoscaler_image.startswith(f"v{minor}.")  # the autoscaler's minor matches
        for component, (low, high) in versions.KUBERNETES_SUPPORT.items():
            assert versions.minor(low) <= versions.minor(minor) <= versions.minor(high), component


# ---- placeholders -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value,placeholder", [
    ("arn:aws:iam::111122223333:role/platform-admin", True), ("arn:aws:iam::210987654321:role/admin", False),
    ("203.0.113.0/24", True), ("198.51.100.7/32", True), ("198.18.4.0/24", False), ("10.10.0.0/16", False),
    ("dev.ml.example.com", True), ("lead@example.org", True), ("kubeflow.corp.test", True),
    ("ml.acme.io", False), ("lead@example.co", False), ("Z0EXAMPLEDEVZONE", True), ("Z04512345ABCDEFGHIJ", False),
    ("16", False), ("64Gi", False),
])
def test_placeholders_are_the_documentation_values_only(value, placeholder):
    from components.config.placeholders import why

    assert (why(value) is not None) is placeholder


def test_the_program_warns_of_each_placeholder_left_in_a_stack_file(dev):
    warned = {line.split(":", 2)[1] for line in dev.warnings if "is a placeholder" in line}
    assert warned == {"cluster.publicAccessCidrs[0]", "cluster.adminRoleArns[0]", "cluster.deployRoleArn",
                      "addons.dns.domain", "addons.dns.hostedZoneId", "addons.acmeEmail", "mesh.adminEmail",
                      "kubeflow.teams[ml-research].owner"}
    assert "mlplatform:addons.dns.hostedZoneId: 'Z0EXAMPLEDEVZONE' is a placeholder: a made-up Route 53 zone ID; " \
           "replace it before deploying" in dev.warnings
