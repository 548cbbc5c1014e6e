"""Data services: RDS MySQL, the S3 artifact store, the session cache, their credentials and safety."""

import json

import pytest

from components.addons.external_secrets import cluster_secret_arns
from components.config import PROJECT
from components.data import database as db
from offline.engine import ACCOUNT, secret_value
from tests.conftest import EVERYDAY_DATABASE
from tests.fixtures import evaluate, rds_master_secret_arn, stack_config
from tests.test_config import schema_rejects

RDS = "aws:rds/instance:Instance"
CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
BUCKET = "aws:s3/bucket:Bucket"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def _data_cfg(stack):
    return stack_config(stack)[f"{PROJECT}:data"]


# ---- database -----------------------------------------------------------------------------------

def test_mysql_instance_settings(each_stack):
    cfg = _data_cfg(each_stack.stack)["database"]
    prod = each_stack.stack == "prod"
    mysql = each_stack.one(RDS).inputs
    assert (mysql["engine"], mysql["engineVersion"]) == ("mysql", "8.4")
    assert mysql["instanceClass"] == cfg["instanceClass"]
    assert mysql["multiAz"] is cfg["multiAz"] is prod
    assert mysql["backupRetentionPeriod"] == cfg["backupRetentionDays"]
    assert mysql["backupRetentionPeriod"] >= (14 if prod else 1)
    assert mysql["deletionProtection"] is prod
    assert mysql["skipFinalSnapshot"] is False
    assert mysql["finalSnapshotIdentifier"] == f"mlplatform-{each_stack.stack}-mysql-final"
    assert mysql["storageEncrypted"] is True
    assert mysql["kmsKeyId"].endswith("key/database-key-key")
    assert mysql["publiclyAccessible"] is False
    assert mysql.get("performanceInsightsEnabled") is prod
    assert mysql["maxAllocatedStorage"] > mysql["allocatedStorage"]
    assert mysql["monitoringInterval"] == (15 if prod else 60)


def test_rds_manages_and_rotates_the_admin_password_under_the_secrets_key(each_stack):
    mysql = each_stack.one(RDS).inputs
    assert mysql["manageMasterUserPassword"] is True
    assert "password" not in mysql  # Pulumi never holds it
    assert mysql["masterUserSecretKmsKeyId"] == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/external-secrets-key-key"
    assert each_stack.exports["credential_secrets"]["database_admin"] == rds_master_secret_arn(
        f"mlplatform-{each_stack.stack}-mysql")


def test_enhanced_monitoring_publishes_with_its_own_role(each_stack):
    mysql = each_stack.one(RDS)
    role = each_stack.one("aws:iam/role:Role", "database-monitoring")
    assert mysql.inputs["monitoringRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/database-monitoring"
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Service": "monitoring.rds.amazonaws.com"}
    attachment = each_stack.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "database-monitoring")
    assert attachment.inputs["policyArn"] == "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
    assert attachment.urn in mysql.dependencies


def test_exported_logs_land_in_encrypted_groups_created_first(each_stack):
    mysql = each_stack.one(RDS)
    identifier = mysql.inputs["identifier"]
    groups = {g.inputs["name"]: g for g in each_stack.of_type("aws:cloudwatch/logGroup:LogGroup")
              if g.name.startswith("database-")}
    assert sorted(groups) == sorted(f"/aws/rds/instance/{identifier}/{t}" for t in mysql.inputs[
        "enabledCloudwatchLogsExports"])
    retention = _data_cfg(each_stack.stack)["database"].get("logRetentionDays", 365 if each_stack.stack == "prod"
                                                            else 30)
    for group in groups.values():
        assert group.inputs["retentionInDays"] == retention
        assert group.inputs["kmsKeyId"] == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/database-key-key"
        assert group.urn in mysql.dependencies
    statements = {s["Sid"]: s for s in json.loads(each_stack.one("aws:kms/key:Key", "database-key").inputs[
        "policy"])["Statement"]}
    assert statements["CloudWatchLogsEncryptsTheseGroups"]["Condition"]["ArnEquals"][
        "kms:EncryptionContext:aws:logs:arn"] == [f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{name}"
                                                 for name in sorted(groups)]
    assert statements["RdsEncryptsTheDatabase"]["Condition"]["StringEquals"]["kms:ViaService"] == \
        "rds.us-east-1.amazonaws.com"


def test_mysql_lives_in_isolated_subnets_behind_a_nodes_only_group(each_stack):
    group = each_stack.one("aws:rds/subnetGroup:SubnetGroup")
    assert sorted(group.inputs["subnetIds"]) == each_stack.subnet_ids("database")
    mysql = each_stack.one(RDS).inputs
    assert mysql["dbSubnetGroupName"] == group.name  # the mocks echo the auto-name
    [sg_id] = mysql["vpcSecurityGroupIds"]
    rules = [r.inputs for r in each_stack.of_type(INGRESS) if r.inputs["securityGroupId"] == sg_id]
    assert [(r["referencedSecurityGroupId"], r["ipProtocol"], r["fromPort"], r["toPort"]) for r in rules] == [
        ("cluster-node-id", "tcp", 3306, 3306)]


def test_parameter_group_enables_native_password_and_tls_per_config(each_stack):
    group = each_stack.one("aws:rds/parameterGroup:ParameterGroup").inputs
    assert group["family"] == "mysql8.4"
    values = {p["name"]: p["value"] for p in group["parameters"]}
    assert values == {"mysql_native_password": "ON", "require_secure_transport": "OFF"}
    assert each_stack.one(RDS).inputs["parameterGroupName"] == each_stack.one(
        "aws:rds/parameterGroup:ParameterGroup").name


def test_requiring_tls_is_refused_until_every_kubeflow_client_can_do_it():
    def require_tls(c):
        c["mlplatform:data"]["database"]["requireTls"] = True

    result = evaluate("dev", require_tls)
    assert result.resources == []
    [line] = [ln for ln in str(result.error).splitlines() if "mlplatform:data.database.requireTls:" in ln]
    assert "Katib v0.19.0 cannot reach MySQL over TLS" in line and "ML Metadata" in line
    assert schema_rejects("dev", require_tls)
    # what lifting the refusal would turn on, once every client can do TLS
    assert db.parameters(require_tls=True)["require_secure_transport"] == "ON"
    assert "--ssl-mode=REQUIRED" in db.bootstrap_script(require_tls=True)


def test_bootstrap_script_creates_each_database_for_its_user():
    script = db.bootstrap_script(require_tls=False)
    for database in ("mlpipeline", "metadb", "cachedb", "katib"):
        assert f"CREATE DATABASE IF NOT EXISTS \\`{database}\\`;" in script
    assert "GRANT ALL PRIVILEGES ON \\`metadb\\`.* TO 'kfp'@'%';" in script
    assert "GRANT ALL PRIVILEGES ON \\`katib\\`.* TO 'katib'@'%';" in script
    assert "GRANT ALL PRIVILEGES ON \\`katib\\`.* TO 'kfp'" not in script
    # ML Metadata's client needs mysql_native_password
    assert "CREATE USER IF NOT EXISTS 'kfp'@'%' IDENTIFIED WITH mysql_native_password BY '${KFP_PASSWORD}';" in script
    assert "--ssl-mode=PREFERRED" in script and "$MYSQL_PWD" not in script  # password only via env


def test_bootstrap_job_gets_credentials_from_the_stacks_secrets(each_stack):
    secrets = {s.name: s.inputs["name"] for s in each_stack.of_type("aws:secretsmanager/secret:Secret")}
    external = each_stack.one("kubernetes:external-secrets.io/v1:ExternalSecret", "database-bootstrap-credentials")
    spec = external.inputs["spec"]
    assert spec["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "aws-secrets-manager"}
    remote = {d["secretKey"]: (d["remoteRef"]["key"], d["remoteRef"]["property"]) for d in spec["data"]}
    cluster = f"mlplatform-{each_stack.stack}"
    admin = rds_master_secret_arn(f"{cluster}-mysql")
    assert remote == {
        # the secret RDS manages (and rotates): the job works after any rotation
        "ADMIN_USER": (admin, "username"),
        "MYSQL_PWD": (admin, "password"),
        "KFP_PASSWORD": (f"{cluster}/kubeflow/mysql", "password"),
        "KATIB_PASSWORD": (f"{cluster}/kubeflow/katib-mysql", "password"),
        # MLflow's user where MLflow runs (prod's default)
        **({"MLFLOW_PASSWORD": (f"{cluster}/mlflow/mysql", "password")} if each_stack.stack == "prod" else {}),
    }
    assert {key for key, _ in remote.values()} - {admin} <= set(secrets.values())
    job = each_stack.one("kubernetes:batch/v1:Job")
    container = job.inputs["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [{"secretRef": {"name": spec["target"]["name"]}}]
    assert {"name": "DB_HOST", "value": f"{cluster}-mysql.abcdefghijkl.us-east-1.rds.amazonaws.com"} in container["env"]
    mysql = each_stack.one(RDS)
    store = each_stack.one("kubernetes:external-secrets.io/v1:ClusterSecretStore")
    grant = each_stack.one("aws:iam/rolePolicy:RolePolicy", "database-admin-secret-read")
    assert {mysql.urn, external.urn} <= set(job.dependencies)
    assert {store.urn, grant.urn} <= set(external.dependencies)


def test_external_secrets_may_read_exactly_the_rds_admin_secret_beyond_its_prefix(each_stack):
    grant = each_stack.one("aws:iam/rolePolicy:RolePolicy", "database-admin-secret-read")
    assert grant.inputs["role"] == "external-secrets"
    [statement] = json.loads(grant.inputs["policy"])["Statement"]
    assert statement["Resource"] == rds_master_secret_arn(f"mlplatform-{each_stack.stack}-mysql")
    assert set(statement["Action"]) == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret",
                                        "secretsmanager:ListSecretVersionIds", "secretsmanager:GetResourcePolicy"}


def test_secrets_key_is_decrypted_in_the_cluster_by_external_secrets_only(each_stack):
    key = each_stack.one("aws:kms/key:Key", "external-secrets-key")
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    assert set(statements) == {"AccountAdministersKey", "WriteThroughSecretsManager", "ExternalSecretsReads"}
    reads = statements["ExternalSecretsReads"]
    assert reads["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:role/external-secrets"}
    assert reads["Action"] == ["kms:Decrypt", "kms:DescribeKey"]
    assert reads["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}
    for secret in each_stack.of_type("aws:secretsmanager/secret:Secret"):
        assert secret.inputs["kmsKeyId"] == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/external-secrets-key-key"


def test_every_secret_is_readable_by_external_secrets_and_nothing_else_is_needed(each_stack):
    cluster = f"mlplatform-{each_stack.stack}"
    readable = cluster_secret_arns(f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/{cluster}", cluster).removesuffix("*")
    for secret in each_stack.of_type("aws:secretsmanager/secret:Secret"):
        assert f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{secret.inputs['name']}".startswith(readable)
        assert secret.inputs["recoveryWindowInDays"] == {"dev": 0, "prod": 30}[each_stack.stack]


# ---- artifact store -------------------------------------------------------------------------------

def _artifact_bucket(result):
    return result.one(BUCKET, "artifacts-bucket")


def _companions(result, bucket, type_):
    return [r for r in result.of_type(type_) if r.inputs.get("bucket") == result.ids_of(bucket)]


def test_bucket_name_is_unique_per_stack_account_and_region(each_stack):
    name = _artifact_bucket(each_stack).inputs["bucket"]
    assert name == f"mlplatform-{each_stack.stack}-artifacts-{ACCOUNT}-us-east-1"
    assert len(name) <= 63 and name == name.lower()


def test_artifact_bucket_companions_all_target_it(each_stack):
    bucket = _artifact_bucket(each_stack)
    [block] = _companions(each_stack, bucket, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block.inputs[f] is True for f in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                                  "restrictPublicBuckets"))
    [ownership] = _companions(each_stack, bucket, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    [sse] = _companions(each_stack, bucket,
                        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert sse.inputs["rules"] == [{"applyServerSideEncryptionByDefault": {
        "sseAlgorithm": "aws:kms", "kmsMasterKeyId": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/artifacts-key-key"},
        "bucketKeyEnabled": True}]
    [versioning] = _companions(each_stack, bucket, "aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    [lifecycle] = _companions(each_stack, bucket, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    rules = {r["id"]: r for r in lifecycle.inputs["rules"]}
    assert rules["expire-noncurrent-versions"]["noncurrentVersionExpiration"] == {
        "noncurrentDays": _data_cfg(each_stack.stack)["artifactStore"]["noncurrentVersionDays"]}
    assert rules["abort-incomplete-multipart-uploads"]["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}


def test_bucket_policy_denies_plain_http(each_stack):
    bucket = _artifact_bucket(each_stack)
    [policy] = _companions(each_stack, bucket, "aws:s3/bucketPolicy:BucketPolicy")
    [statement] = json.loads(policy.inputs["policy"])["Statement"]
    arn = f"arn:aws:s3:::{bucket.inputs['bucket']}"
    assert statement == {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                         "Resource": [arn, f"{arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def test_prod_logs_bucket_access_to_a_separate_protected_bucket(prod, dev):
    artifacts = _artifact_bucket(prod)
    logs = prod.one(BUCKET, "artifacts-access-logs")
    [logging] = prod.of_type("aws:s3/bucketLogging:BucketLogging")
    assert logging.inputs["bucket"] == prod.ids_of(artifacts)
    assert logging.inputs["targetBucket"] == prod.ids_of(logs)
    [sse] = _companions(prod, logs,
                        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    [policy] = _companions(prod, logs, "aws:s3/bucketPolicy:BucketPolicy")
    delivery = json.loads(policy.inputs["policy"])["Statement"][1]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Condition"]["ArnLike"] == {"aws:SourceArn": f"arn:aws:s3:::{artifacts.inputs['bucket']}"}
    assert logs.protect is True
    assert dev.of_type("aws:s3/bucketLogging:BucketLogging") == [] and len(dev.of_type(BUCKET)) == 1


def test_only_dev_buckets_may_be_destroyed_with_their_objects(dev, prod):
    assert _artifact_bucket(dev).inputs["forceDestroy"] is True
    assert _artifact_bucket(prod).inputs["forceDestroy"] is False


# ---- session cache ------------------------------------------------------------------------------

def test_cache_is_encrypted_authenticated_and_sized_per_stack(each_stack):
    cfg = _data_cfg(each_stack.stack)["sessionCache"]
    prod = each_stack.stack == "prod"
    cache = each_stack.one(CACHE).inputs
    assert cache["engine"] == "valkey"
    assert cache["atRestEncryptionEnabled"] is True and cache["kmsKeyId"].endswith("key/session-cache-key-key")
    assert cache["transitEncryptionEnabled"] is True and cache["transitEncryptionMode"] == "required"
    assert cache["numCacheClusters"] == cfg["nodes"] == (2 if prod else 1)
    assert cache["automaticFailoverEnabled"] is prod and cache["multiAzEnabled"] is prod
    assert cache["snapshotRetentionLimit"] == (7 if prod else 0)
    assert ("finalSnapshotIdentifier" in cache) is prod


def test_cache_auth_token_is_sent_only_as_a_secret(each_stack):
    cache = each_stack.one(CACHE)
    assert secret_value(cache.inputs["authToken"]).startswith("mock-session-cache-auth-token")
    assert not any(s.startswith("mock-") for s in cache.plain_strings)


def test_cache_lives_in_isolated_subnets_behind_a_nodes_only_group(each_stack):
    group = each_stack.one("aws:elasticache/subnetGroup:SubnetGroup")
    assert sorted(group.inputs["subnetIds"]) == each_stack.subnet_ids("database")
    [sg_id] = each_stack.one(CACHE).inputs["securityGroupIds"]
    rules = [r.inputs for r in each_stack.of_type(INGRESS) if r.inputs["securityGroupId"] == sg_id]
    assert [(r["referencedSecurityGroupId"], r["fromPort"], r["toPort"]) for r in rules] == [
        ("cluster-node-id", 6379, 6379)]


# ---- secrets and safety across the data tier ---------------------------------------------------------

def test_no_generated_secret_appears_in_plain_text(each_stack):
    passwords = each_stack.of_type("random:index/randomPassword:RandomPassword")
    # kfp, katib, cache token (RDS generates the admin's itself); the login's admin, client and cookie secrets;
    # the Pipelines UI's signing key; MLflow's user where it runs
    assert len(passwords) == 7 + (each_stack.stack == "prod")
    generated = [f"mock-{r.name}-" for r in passwords] + [f"$2a$10$mock{r.name}" for r in passwords]
    used_as_secret = 0
    for resource in each_stack.resources:
        for text in resource.plain_strings:
            assert not any(g in text for g in generated), f"{resource.type} {resource.name} has a secret in plain text"
        used_as_secret += any(g in json.dumps(resource.inputs) for g in generated)
    assert used_as_secret >= 4  # the cache token and the secret versions carry them
    non_secret_exports = json.dumps({k: v for k, v in each_stack.exports.items()
                                     if k not in each_stack.secret_exports})
    assert not any(g in non_secret_exports for g in generated)


def test_prod_protects_every_stateful_resource(prod, dev):
    stateful = ("aws:rds/instance:Instance", "aws:s3/bucket:Bucket", "aws:efs/fileSystem:FileSystem",
                "aws:elasticache/replicationGroup:ReplicationGroup", "aws:kms/key:Key",
                "aws:codeartifact/domain:Domain", "aws:codeartifact/repository:Repository")
    for result, expected in ((prod, True), (dev, False)):
        found = [r for r in result.resources if r.type in stateful]
        assert len(found) >= 8
        assert {(r.name, r.protect) for r in found} == {(r.name, expected) for r in found}


def test_prod_keeps_keys_and_buckets_even_through_a_deliberate_destroy(prod, dev):
    kept = ("aws:kms/key:Key", "aws:s3/bucket:Bucket")
    prod_kept = {r.name: r.retain_on_delete for r in prod.resources if r.type in kept}
    assert prod_kept == dict.fromkeys(["cluster-secrets", "cluster-logs", "network-flow-logs", "storage-volumes",
                                       "external-secrets-key", "artifacts-key", "database-key", "session-cache-key",
                                       "artifacts-bucket", "artifacts-access-logs"], True)
    assert not any(r.retain_on_delete for r in dev.resources)
    # databases and caches are not retained: deleting them on purpose takes a final snapshot instead
    assert not prod.one(RDS).retain_on_delete and not prod.one(CACHE).retain_on_delete


def test_everyday_config_changes_do_not_touch_what_forces_replacement(prod, prod_variant):
    """The inputs whose change makes AWS replace a stateful resource stay put when the usual knobs move."""
    def identity(result):
        mysql, cache, bucket = result.one(RDS).inputs, result.one(CACHE).inputs, _artifact_bucket(result).inputs
        return {
            "rds": {k: mysql.get(k) for k in ("identifier", "engine", "username", "kmsKeyId", "storageEncrypted",
                                                "dbSubnetGroupName", "port")},
            "cache": {k: cache.get(k) for k in ("replicationGroupId", "engine", "atRestEncryptionEnabled",
                                                 "kmsKeyId", "subnetGroupName", "port")},
            "bucket": bucket["bucket"],
        }

    assert prod_variant.one(RDS).inputs["instanceClass"] == EVERYDAY_DATABASE["instanceClass"]  # the change landed
    assert prod_variant.one(CACHE).inputs["numCacheClusters"] == 3
    assert identity(prod_variant) == identity(prod)


@pytest.mark.parametrize("change,key,words,in_schema", [
    (lambda d: d["database"].__setitem__("backupRetentionDays", 7), "data.database.backupRetentionDays",
     "at least 14 days", True),
    (lambda d: d["database"].__setitem__("multiAz", False), "data.database.multiAz", "two AZs", True),
    (lambda d: d["sessionCache"].__setitem__("nodes", 1), "data.sessionCache.nodes", "set 2 or more", True),
    (lambda d: d["database"].__setitem__("maxAllocatedStorageGiB", 50), "data.database.maxAllocatedStorageGiB",
     "at least allocatedStorageGiB", False),  # compares two keys
    (lambda d: d["database"].__setitem__("instanceClass", "m7g.large"), "data.database.instanceClass",
     "not an RDS instance class", True),
    (lambda d: d["sessionCache"].__setitem__("nodeTyp", "cache.t4g.small"), "data.sessionCache.nodeTyp",
     "did you mean 'nodeType'", True),
])
def test_data_config_is_validated(change, key, words, in_schema):
    result = evaluate("prod", lambda c: change(c[f"{PROJECT}:data"]))
    assert result.resources == [] and result.error is not None
    line = next(ln for ln in str(result.error).splitlines() if f"mlplatform:{key}:" in ln)
    assert words in line
    assert schema_rejects("prod", lambda c: change(c[f"{PROJECT}:data"])) is in_schema


@pytest.mark.parametrize("region", ["us-east-1", "ap-southeast-2", "us-gov-west-1"])
def test_the_longest_cluster_name_allowed_makes_names_aws_accepts(region):
    """At the limit config allows in a region, the longest bucket name the program makes is exactly S3's 63, and the
    cache's replication group id within ElastiCache's 40 (one character more is refused: tests/test_config.py)."""
    from components.config.cluster import cluster_name_limit
    from components.data.artifact_store import bucket_name

    name = "a" * cluster_name_limit(region)
    assert len(bucket_name(name, "access-logs", ACCOUNT, region)) == 63
    assert len(bucket_name(name, "artifacts", ACCOUNT, region)) < 63
    assert len(f"{name}-sessions") <= 40
