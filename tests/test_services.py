"""The platform's remaining services, each optional per stack: the package index (CodeArtifact, read with the teams'
own roles through a pip keyring), MLflow (RDS, S3 through Pod Identity, behind the Kubeflow login) and FSx for
Lustre (its CSI driver on its own role, a StorageClass reachable only from the nodes)."""

import datetime
import io
import json
import subprocess
import sys
from unittest import mock

import pytest
import yaml
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from components.addons.storage import FSX_CSI_SERVICE_ACCOUNT, LUSTRE_PORTS
from components.config import PROJECT, ConfigError
from components.data import database as db
from components.data.package_index import index_url
from components.kubeflow import mlflow, pip_keyring
from components.kubeflow.team import KEYRING_PATH, MLFLOW_LABEL, PIP_KEYRING, PIP_LABEL
from components.mesh.upstream import GATEWAY_PRINCIPAL
from offline import cost
from offline.analyzer import stack_findings
from offline.iam_eval import decide
from tests.conftest import SERVICES_IMPORT_PATH, SERVICES_PUBLISHER
from tests.fixtures import evaluate, stack_config

ACCOUNT = "123456789012"
ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
PODDEFAULT = "kubernetes:kubeflow.org/v1alpha1:PodDefault"
RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SCHEDULE = "aws:autoscaling/schedule:Schedule"
PUBLISHER, IMPORT_PATH = SERVICES_PUBLISHER, SERVICES_IMPORT_PATH


@pytest.fixture(scope="session")
def on(dev_services):
    return dev_services  # every optional service on (conftest.py)


@pytest.fixture(scope="session")
def off(prod_variant):
    return prod_variant  # no package index, among everyday changes (conftest.py)


def _names(result):
    return {(r.type, r.name) for r in result.resources}


def _role_policy(result, association):
    role = result.one("aws:iam/role:Role", association.inputs["roleArn"].rsplit("/", 1)[1])
    [policy] = [p for p in result.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == f"{role.name}-id"]
    return json.loads(policy.inputs["policy"])


# ---- each is optional, and adds exactly its resources --------------------------------------------------------

def test_the_defaults_package_index_in_both_mlflow_in_prod_fsx_in_neither(dev, prod):
    for result in (dev, prod):
        assert result.of_type("aws:codeartifact/domain:Domain")
        classes = result.of_type("kubernetes:storage.k8s.io/v1:StorageClass")
        assert {c.inputs["provisioner"] for c in classes} <= {"ebs.csi.aws.com", "efs.csi.aws.com"}
    assert prod.of_type("mlplatform:mlflow:Mlflow") and not dev.of_type("mlplatform:mlflow:Mlflow")


def test_turning_each_on_adds_exactly_its_resources(dev, prod, on, off):
    teams = [t["name"] for t in stack_config("dev")[f"{PROJECT}:kubeflow"]["teams"]]
    mlflow_added = {
        ("mlplatform:mlflow:Mlflow", "mlflow"), ("kubernetes:core/v1:Namespace", "mlflow-namespace"),
        ("mlplatform:service_account_role:ServiceAccountRole", "mlflow-artifacts"),
        ("aws:iam/role:Role", "mlflow-artifacts"), ("aws:iam/rolePolicy:RolePolicy", "mlflow-artifacts-policy"),
        (ASSOCIATION, "mlflow-artifacts-association"), ("kubernetes:core/v1:ServiceAccount", "mlflow-service-account"),
        ("kubernetes:external-secrets.io/v1:ExternalSecret", "mlflow-database-credentials"),
        ("kubernetes:apps/v1:Deployment", "mlflow-server"), ("kubernetes:core/v1:Service", "mlflow-service"),
        ("kubernetes:networking.istio.io/v1:VirtualService", "mlflow-route"),
        ("kubernetes:security.istio.io/v1:AuthorizationPolicy", "mlflow-callers"),
        ("random:index/randomPassword:RandomPassword", "database-mlflow-password"),
        ("aws:secretsmanager/secret:Secret", "database-mlflow-secret"),
        ("aws:secretsmanager/secretVersion:SecretVersion", "database-mlflow-secret"),
        *((PODDEFAULT, f"team-{t}-mlflow") for t in teams)}
    fsx_added = {
        ("mlplatform:service_account_role:ServiceAccountRole", "storage-fsx-csi"),
        ("aws:iam/role:Role", "storage-fsx-csi"), ("aws:iam/rolePolicy:RolePolicy", "storage-fsx-csi-policy"),
        ("aws:eks/addon:Addon", "storage-aws-fsx-csi-driver"),
        ("aws:ec2/securityGroup:SecurityGroup", "storage-lustre"),
        ("kubernetes:storage.k8s.io/v1:StorageClass", "storage-fsx"),
        *((RULE, f"storage-{side}") for side in (
            "lustre-988-from-nodes", "lustre-988-among-servers", "nodes-988-from-lustre", "lustre-1018-1023-from-nodes",
            "lustre-1018-1023-among-servers", "nodes-1018-1023-from-lustre"))}
    publishers_added = {("aws:codeartifact/domainPermissions:DomainPermissions", "package-index-publishers"),
                        ("aws:codeartifact/repositoryPermissionsPolicy:RepositoryPermissionsPolicy",
                         "package-index-publishers")}
    assert _names(on) - _names(dev) == mlflow_added | fsx_added | publishers_added
    assert not _names(dev) - _names(on)
    prod_teams = [t["name"] for t in stack_config("prod")[f"{PROJECT}:kubeflow"]["teams"]]
    index_added = {("mlplatform:package_index:PackageIndex", "package-index"),
                   ("aws:codeartifact/domain:Domain", "package-index-domain"),
                   ("aws:codeartifact/repository:Repository", "package-index-pypi-store"),
                   ("aws:codeartifact/repository:Repository", "package-index-python"),
                   *((PODDEFAULT, f"team-{t}-pip") for t in prod_teams),
                   *(("kubernetes:core/v1:ConfigMap", f"team-{t}-pip-keyring") for t in prod_teams)}
    # prod's variant also drops the mirror and the warm hours, and its third cache node brings its own alarm
    others = {("mlplatform:registry_mirror:RegistryMirror", "cluster-registry-mirror"),
              ("aws:ecr/pullThroughCacheRule:PullThroughCacheRule", "cluster-registry-mirror-ghcr"),
              ("aws:iam/rolePolicy:RolePolicy", "cluster-registry-mirror-node-import"),
              (SCHEDULE, "cluster-gpu-warm-start"), (SCHEDULE, "cluster-gpu-warm-stop")}
    assert _names(prod) - _names(off) == index_added | others
    assert _names(off) - _names(prod) == {("aws:cloudwatch/metricAlarm:MetricAlarm", "alarms-session-cache-memory-003")}


def test_with_everything_on_the_pack_passes_and_the_plan_prices_each(on):
    assert [f for f in stack_findings(on) if f.level == "mandatory"] == []
    estimate = cost.estimate(on.resources, "dev")
    assert not estimate.unpriced
    lines = {line.item for line in estimate.lines}
    assert any(i.startswith("package-index-domain: 2 GB of packages") for i in lines)
    # a Lustre file system only when claimed: nothing at idle, 1.2 TiB at PERSISTENT_1 100 MB/s/TiB at the busiest
    [lustre] = [line for line in estimate.lines if line.item.startswith("storage-fsx:")]
    assert lustre.idle == 0 and lustre.max == pytest.approx(1200 * 0.19)


# ---- the package index ----------------------------------------------------------------------------------------------

def test_the_index_proxies_pypi_under_the_artifacts_key(prod):
    domain = prod.one("aws:codeartifact/domain:Domain")
    key = prod.one("aws:kms/key:Key", "artifacts-key")
    assert domain.inputs["domain"] == "mlplatform-prod"
    assert domain.property_dependencies["encryptionKey"] == [key.urn]
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    assert statements["CodeArtifactEncryptsPackages"]["Condition"]["StringEquals"]["kms:ViaService"] == \
        "codeartifact.us-east-1.amazonaws.com"
    store = prod.one("aws:codeartifact/repository:Repository", "package-index-pypi-store")
    python = prod.one("aws:codeartifact/repository:Repository", "package-index-python")
    assert store.inputs["externalConnections"] == {"externalConnectionName": "public:pypi"}
    assert python.inputs["upstreams"] == [{"repositoryName": "pypi-store"}]
    # what teams publish lives only here: prod keeps it
    assert all(r.protect and r.retain_on_delete for r in (domain, store, python))


def test_each_team_reads_the_index_with_its_own_role_and_nothing_else(prod):
    domain = f"arn:aws:codeartifact:us-east-1:{ACCOUNT}:domain/mlplatform-prod"
    repository = f"arn:aws:codeartifact:us-east-1:{ACCOUNT}:repository/mlplatform-prod/python"
    for team in stack_config("prod")[f"{PROJECT}:kubeflow"]["teams"]:
        [association] = [a for a in prod.of_type(ASSOCIATION) if a.inputs["namespace"] == team["name"]]
        policy = _role_policy(prod, association)
        assert decide(policy, "codeartifact:GetAuthorizationToken", domain) == "Allow"
        assert decide(policy, "codeartifact:ReadFromRepository", repository) == "Allow"
        assert decide(policy, "sts:GetServiceBearerToken", "*",
                      {"sts:AWSServiceName": "codeartifact.amazonaws.com"}) == "Allow"
        assert decide(policy, "sts:GetServiceBearerToken", "*", {"sts:AWSServiceName": "s3.amazonaws.com"}) != "Allow"
        assert decide(policy, "codeartifact:PublishPackageVersion", repository.replace("repository", "package")
                      + "/pypi//x") != "Allow"
        assert decide(policy, "codeartifact:ReadFromRepository", repository.replace("mlplatform-prod", "other")) \
            != "Allow"
    boundary = json.loads(prod.one("aws:iam/policy:Policy", "cluster-pod-role-boundary").inputs["policy"])
    assert decide(boundary, "codeartifact:GetAuthorizationToken", domain) == "Allow"
    assert decide(boundary, "codeartifact:ReadFromRepository", repository) == "Allow"


def test_publishers_named_in_config_may_publish_and_nobody_else(on):
    domain = json.loads(on.one("aws:codeartifact/domainPermissions:DomainPermissions").inputs["policyDocument"])
    repository = json.loads(on.one("aws:codeartifact/repositoryPermissionsPolicy:RepositoryPermissionsPolicy")
                            .inputs["policyDocument"])
    for document in (domain, repository):
        assert {json.dumps(s["Principal"]) for s in document["Statement"]} == {json.dumps({"AWS": [PUBLISHER]})}
    package = f"arn:aws:codeartifact:us-east-1:{ACCOUNT}:package/mlplatform-dev/python/pypi//mylib"
    assert decide(repository, "codeartifact:PublishPackageVersion", package) == "Allow"
    assert decide(repository, "codeartifact:DeletePackageVersions", package) != "Allow"


def test_pip_in_a_team_pod_points_at_the_index_with_no_token_anywhere(dev):
    [pip] = [p for p in dev.of_type(PODDEFAULT) if p.name.endswith("-pip")]
    spec = pip.inputs["spec"]
    assert spec["selector"] == {"matchLabels": {PIP_LABEL: "true"}}
    env = {e["name"]: e["value"] for e in spec["env"]}
    assert env == {"PIP_INDEX_URL": index_url("mlplatform-dev", ACCOUNT, "us-east-1"),
                   "PIP_KEYRING_PROVIDER": "subprocess"}
    assert env["PIP_INDEX_URL"].startswith("https://aws@mlplatform-dev-123456789012.d.codeartifact.")  # no password
    [mount] = spec["volumeMounts"]
    assert mount == {"name": "pip-keyring", "mountPath": KEYRING_PATH, "subPath": "keyring", "readOnly": True}
    [volume] = spec["volumes"]
    keyring = dev.one("kubernetes:core/v1:ConfigMap", pip.name.replace("-pip", "-pip-keyring"))
    assert volume["configMap"] == {"name": keyring.inputs["metadata"]["name"], "defaultMode": 0o755}
    assert keyring.inputs["data"] == {"keyring": PIP_KEYRING.read_text()}
    assert keyring.inputs["metadata"]["namespace"] == pip.inputs["metadata"]["namespace"]
    # a new notebook opts in by default: the form's configurations are the PodDefaults' labels
    form = yaml.safe_load(dev.one("kubernetes:core/v1:ConfigMap", "notebooks-spawner").inputs["data"][
        "spawner_ui_config.yaml"])
    assert form["spawnerFormDefaults"]["configurations"]["value"] == [PIP_LABEL]


# ---- the pip keyring, as pip runs it ---------------------------------------------------------------------------

CREDENTIALS = {"AccessKeyId": "AKIDEXAMPLE", "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
               "Token": "IQoJb3JpZ2luX2VjEXAMPLE//token=="}
NOW = datetime.datetime(2026, 12, 5, 12, 0, 0, tzinfo=datetime.UTC)


def test_the_keyring_signs_as_botocore_does():
    request = pip_keyring.signed_request("mlplatform-dev", ACCOUNT, "eu-west-1", CREDENTIALS, NOW)
    reference = AWSRequest(method="POST", url="https://codeartifact.eu-west-1.amazonaws.com/v1/authorization-token",
                           params={"domain": "mlplatform-dev", "domain-owner": ACCOUNT, "duration": "900"}, data=b"")
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        SigV4Auth(Credentials(CREDENTIALS["AccessKeyId"], CREDENTIALS["SecretAccessKey"], CREDENTIALS["Token"]),
                  "codeartifact", "eu-west-1").add_auth(reference)
    assert request.get_header("Authorization") == reference.headers["Authorization"]
    assert request.get_method() == "POST" and request.full_url == (
        "https://codeartifact.eu-west-1.amazonaws.com/v1/authorization-token?domain=mlplatform-dev&domain-owner="
        f"{ACCOUNT}&duration=900")


def _responses(token_file):
    def urlopen(request, timeout):
        if request.full_url.startswith("http://169.254.170.23/"):
            assert request.get_header("Authorization") == "pod-identity-token"
            return io.BytesIO(json.dumps(CREDENTIALS).encode())
        assert request.full_url.startswith("https://codeartifact.us-east-1.amazonaws.com/v1/authorization-token?")
        assert request.get_header("X-amz-security-token") == CREDENTIALS["Token"]
        return io.BytesIO(json.dumps({"authorizationToken": "fresh-token", "expiration": 0}).encode())
    return urlopen


@pytest.mark.parametrize("argv,expected", [
    # pip 23.1-26.1 (the notebook images' 26.1.1): `keyring get <index URL> <user>`, the password on stdout
    (["get", "https://mlplatform-dev-123456789012.d.codeartifact.us-east-1.amazonaws.com/pypi/python/simple/", "aws"],
     "fresh-token\n"),
    # then with the host alone
    (["get", "mlplatform-dev-123456789012.d.codeartifact.us-east-1.amazonaws.com", "aws"], "fresh-token\n"),
    # pip 26.2+: JSON with the user name and password, the user name may be missing
    (["--mode=creds", "--output=json", "get",
      "https://mlplatform-dev-123456789012.d.codeartifact.us-east-1.amazonaws.com/pypi/python/simple/"],
     '{"username": "aws", "password": "fresh-token"}\n'),
])
def test_the_keyring_answers_pip_in_both_call_forms(tmp_path, capsys, argv, expected):
    token_file = tmp_path / "token"
    token_file.write_text("pod-identity-token\n")
    environ = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials",
               "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(token_file)}
    with mock.patch("urllib.request.urlopen", side_effect=_responses(token_file)):
        assert pip_keyring.main(argv, environ) == 0
    assert capsys.readouterr().out == expected


def test_the_keyring_says_nothing_for_other_indexes_or_commands():
    with mock.patch("urllib.request.urlopen", side_effect=AssertionError("no request")):
        assert pip_keyring.main(["get", "https://pypi.org/simple/", "__token__"], {}) == 1
        assert pip_keyring.main(["set", "https://x", "aws"], {}) == 1
    # as pip runs it: an executable on its own, exiting 1 (pip then carries on without credentials)
    run = subprocess.run([sys.executable, str(PIP_KEYRING), "get", "https://pypi.org/simple/", "u"],
                         capture_output=True, text=True)
    assert run.returncode == 1 and run.stdout == ""
    assert PIP_KEYRING.read_text().startswith("#!/usr/bin/env python3\n")


# ---- MLflow ---------------------------------------------------------------------------------------------------

def test_mlflow_keeps_its_runs_in_its_own_database_user_on_rds(prod):
    script = db.bootstrap_script(False, db.database_grants(mlflow=True))
    assert "CREATE DATABASE IF NOT EXISTS \\`mlflow\\`;" in script
    assert "GRANT ALL PRIVILEGES ON \\`mlflow\\`.* TO 'mlflow'@'%';" in script
    assert "mlflow" not in db.bootstrap_script(False, db.database_grants(mlflow=False))
    server = prod.one("kubernetes:apps/v1:Deployment", "mlflow-server")
    [container] = server.inputs["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["MLFLOW_BACKEND_STORE_URI"]["value"] == (
        "mysql+pymysql://mlflow:$(DB_PASSWORD)@mlplatform-prod-mysql.abcdefghijkl.us-east-1.rds.amazonaws.com:3306/"
        "mlflow")
    # $(DB_PASSWORD) expands only from a variable defined before it
    assert list(env).index("DB_PASSWORD") < list(env).index("MLFLOW_BACKEND_STORE_URI")
    secret_ref = env["DB_PASSWORD"]["valueFrom"]["secretKeyRef"]
    synced = prod.one("kubernetes:external-secrets.io/v1:ExternalSecret", "mlflow-database-credentials")
    assert synced.inputs["spec"]["target"]["name"] == secret_ref["name"] == mlflow.DATABASE_SECRET
    assert synced.inputs["metadata"]["namespace"] == "mlflow"
    assert synced.inputs["spec"]["data"] == [{"secretKey": "password", "remoteRef": {
        "key": "mlplatform-prod/mlflow/mysql", "property": "password"}}]
    assert server.inputs["metadata"]["annotations"]["secret.reloader.stakater.com/reload"] == mlflow.DATABASE_SECRET
    # it starts once the bootstrap job has made its user, and its password is synced
    assert {prod.one("kubernetes:batch/v1:Job").urn, synced.urn} <= set(server.dependencies)


def test_mlflow_writes_artifacts_only_under_its_prefix_as_its_own_service_account(prod):
    server = prod.one("kubernetes:apps/v1:Deployment", "mlflow-server")
    pod = server.inputs["spec"]["template"]["spec"]
    association = prod.one(ASSOCIATION, "mlflow-artifacts-association")
    assert (association.inputs["namespace"], association.inputs["serviceAccount"]) == \
        (server.inputs["metadata"]["namespace"], pod["serviceAccountName"]) == ("mlflow", "mlflow")
    bucket = "mlplatform-prod-artifacts-123456789012-us-east-1"
    args = pod["containers"][0]["args"]
    assert args[args.index("--artifacts-destination") + 1] == f"s3://{bucket}/mlflow"
    assert "--serve-artifacts" in args  # clients send artifacts through the server: no S3 permission for them
    policy = _role_policy(prod, association)
    assert decide(policy, "s3:PutObject", f"arn:aws:s3:::{bucket}/mlflow/1/run/artifacts/model.pkl") == "Allow"
    assert decide(policy, "s3:GetObject", f"arn:aws:s3:::{bucket}/private-artifacts/ml-research/x") != "Allow"


def test_mlflow_is_served_behind_the_kubeflow_login_and_only_to_the_gateway_and_the_teams(prod):
    hostname = "kubeflow.prod.ml.example.com"
    route = prod.one("kubernetes:networking.istio.io/v1:VirtualService", "mlflow-route").inputs["spec"]
    assert route["gateways"] == ["kubeflow/kubeflow-gateway"]
    assert route["http"][1] == {"match": [{"uri": {"prefix": "/mlflow/"}}], "route": [{"destination": {
        "host": "mlflow.mlflow.svc.cluster.local", "port": {"number": 5000}}}]}
    callers = prod.one("kubernetes:security.istio.io/v1:AuthorizationPolicy", "mlflow-callers").inputs["spec"]
    teams = sorted(t["name"] for t in stack_config("prod")[f"{PROJECT}:kubeflow"]["teams"])
    assert callers["action"] == "ALLOW" and callers["selector"] == {"matchLabels": mlflow.LABELS}
    assert callers["rules"] == [{"from": [{"source": {"principals": [GATEWAY_PRINCIPAL]}}]},
                                {"from": [{"source": {"namespaces": teams}}]}]
    args = prod.one("kubernetes:apps/v1:Deployment", "mlflow-server").inputs["spec"]["template"]["spec"][
        "containers"][0]["args"]
    hosts = args[args.index("--allowed-hosts") + 1].split(",")
    assert hostname in hosts and "mlflow.mlflow.svc.cluster.local:5000" in hosts
    assert args[args.index("--cors-allowed-origins") + 1] == f"https://{hostname}"
    assert args[args.index("--static-prefix") + 1] == "/mlflow"
    namespace = prod.one("kubernetes:core/v1:Namespace", "mlflow-namespace").inputs["metadata"]["labels"]
    assert namespace["istio-injection"] == "enabled" and namespace["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_teams_pods_get_the_tracking_uri_of_the_service(prod):
    service = prod.one("kubernetes:core/v1:Service", "mlflow-service").inputs
    [port] = service["spec"]["ports"]
    for default in [p for p in prod.of_type(PODDEFAULT) if p.name.endswith("-mlflow")]:
        spec = default.inputs["spec"]
        assert spec["selector"] == {"matchLabels": {MLFLOW_LABEL: "true"}}
        assert spec["env"] == [{"name": "MLFLOW_TRACKING_URI", "value": f"http://{service['metadata']['name']}."
                                f"{service['metadata']['namespace']}.svc.cluster.local:{port['port']}/mlflow"}]
    form = yaml.safe_load(prod.one("kubernetes:core/v1:ConfigMap", "notebooks-spawner").inputs["data"][
        "spawner_ui_config.yaml"])
    assert form["spawnerFormDefaults"]["configurations"]["value"] == [PIP_LABEL, MLFLOW_LABEL]


# ---- FSx for Lustre --------------------------------------------------------------------------------------------

def test_lustre_file_systems_admit_only_the_nodes_on_lustres_ports(on):
    lustre = on.one("aws:ec2/securityGroup:SecurityGroup", "storage-lustre")
    node_sg, lustre_id = on.ids_of(on.one("aws:ec2/securityGroup:SecurityGroup", "cluster-node")), on.ids_of(lustre)
    into_lustre = {(r.inputs["referencedSecurityGroupId"], r.inputs["fromPort"], r.inputs["toPort"])
                   for r in on.of_type(RULE) if r.inputs["securityGroupId"] == lustre_id}
    ports = set(LUSTRE_PORTS)
    assert into_lustre == {(peer, low, high) for peer in (node_sg, lustre_id) for low, high in ports}
    from_lustre = {(r.inputs["fromPort"], r.inputs["toPort"]) for r in on.of_type(RULE)
                   if r.inputs["securityGroupId"] == node_sg and r.inputs.get("referencedSecurityGroupId") == lustre_id}
    assert from_lustre == ports
    assert all(r.inputs["ipProtocol"] == "tcp" for r in on.of_type(RULE) if lustre_id in (
        r.inputs["securityGroupId"], r.inputs.get("referencedSecurityGroupId")))


def test_the_lustre_class_makes_encrypted_file_systems_in_the_first_az(on):
    fsx_class = on.one("kubernetes:storage.k8s.io/v1:StorageClass", "storage-fsx")
    first_az = stack_config("dev")[f"{PROJECT}:network"]["availabilityZones"][0]
    assert fsx_class.inputs["provisioner"] == "fsx.csi.aws.com"
    assert fsx_class.inputs["parameters"] == {
        "subnetId": f"network-private-{first_az}-id", "securityGroupIds": "storage-lustre-id",
        "deploymentType": "PERSISTENT_1", "perUnitStorageThroughput": "100", "fileSystemTypeVersion": "2.15",
        "kmsKeyId": fsx_class.inputs["parameters"]["kmsKeyId"], "s3ImportPath": IMPORT_PATH,
        "autoImportPolicy": "NEW_CHANGED_DELETED"}
    key = on.one("aws:kms/key:Key", "storage-volumes")
    assert fsx_class.property_dependencies["parameters"] and key.urn in fsx_class.property_dependencies["parameters"]
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    assert statements["FsxEncryptsFileSystems"]["Condition"]["StringEquals"]["kms:ViaService"] == \
        "fsx.us-east-1.amazonaws.com"


def test_the_lustre_driver_runs_as_its_own_role_allowed_only_what_it_calls(on):
    addon = on.one("aws:eks/addon:Addon", "storage-aws-fsx-csi-driver")
    [association] = addon.inputs["podIdentityAssociations"]
    # kubernetes-sigs/aws-fsx-csi-driver v1.9.0 deploy/kubernetes/base/controller-serviceaccount.yaml
    assert association["serviceAccount"] == FSX_CSI_SERVICE_ACCOUNT == "fsx-csi-controller-sa"
    role = on.one("aws:iam/role:Role", "storage-fsx-csi")
    assert association["roleArn"].endswith(f":role/{role.name}")
    [policy] = [p for p in on.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == f"{role.name}-id"]
    document = json.loads(policy.inputs["policy"])
    assert decide(document, "fsx:CreateFileSystem") == "Allow"
    assert decide(document, "s3:ListBucket", "arn:aws:s3:::ml-datasets-example") == "Allow"
    assert decide(document, "s3:ListBucket", "arn:aws:s3:::someone-elses") != "Allow"
    assert decide(document, "iam:CreateServiceLinkedRole", "*", {"iam:AWSServiceName": "fsx.amazonaws.com"}) == "Allow"
    assert decide(document, "iam:CreateServiceLinkedRole", "*", {"iam:AWSServiceName": "ec2.amazonaws.com"}) \
        != "Allow"
    assert decide(document, "iam:AttachRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/admin") != "Allow"
    assert decide(document, "s3:GetObject", "arn:aws:s3:::ml-datasets-example/x") != "Allow"
    assert role.inputs["permissionsBoundary"]


@pytest.mark.parametrize("fsx,words", [
    ({"enabled": True, "throughputPerTiB": 100},
     "addons.fsx.throughputPerTiB: PERSISTENT_2 offers 125, 250, 500, 1000"),
    ({"enabled": True, "s3ImportPath": IMPORT_PATH}, "addons.fsx.s3ImportPath: the CSI driver links S3 through the "
                                                     "import path, which FSx offers on PERSISTENT_1"),
    ({"enabled": True, "s3ImportPath": "ml-datasets/imagenet"}, "is not an S3 URL"),
])
def test_fsx_settings_are_validated(fsx, words):
    result = evaluate("dev", lambda c: c[f"{PROJECT}:addons"].update(fsx=fsx))
    assert isinstance(result.error, ConfigError) and result.resources == []
    assert words in str(result.error)


def test_publishers_need_the_index_on():
    result = evaluate("dev", lambda c: c[f"{PROJECT}:data"].update(packageIndex={
        "enabled": False, "publisherRoleArns": [PUBLISHER]}))
    assert "data.packageIndex.publisherRoleArns: publishers are set but the package index is off" in str(result.error)
