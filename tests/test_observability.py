"""Observability: Container Insights on its own Pod Identity role writing into log groups the program made, alarms
on this stack's own resources to an encrypted topic, the dashboard, metrics-server."""

import json
import re

import pytest

from components import namespaces
from components.cluster.node_group import GPU_TAINT_KEY
from components.data.database import default_max_connections
from components.mesh import istio
from components.observability import alarms, container_insights
from components.observability.container_insights import LOG_METRICS, log_metrics_namespace
from offline.engine import ACCOUNT
from tests.fixtures import evaluate

ADDON = "aws:eks/addon:Addon"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def _addon(result, name):
    [addon] = [a for a in result.of_type(ADDON) if a.inputs["addonName"] == name]
    return addon


def _alarms(result):
    return {a.inputs["name"].removeprefix(f"mlplatform-{result.stack}-"): a for a in result.of_type(ALARM)}


@pytest.fixture(scope="module")
def without_insights():
    return evaluate("dev", lambda c: c.setdefault("mlplatform:observability", {}).update(containerInsights="off"))


# ---- Container Insights ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("stack,groups", [("prod", ("application", "dataplane", "host", "performance")),
                                          ("dev", ("application", "dataplane", "host"))])
def test_the_agent_writes_only_into_log_groups_the_program_made(stack, groups, request):
    """Fluent Bit and the agent create what is missing with no retention and no key: every group they write exists
    first, with the stack's retention and the cluster's logs key, and their role reaches exactly those."""
    result = request.getfixturevalue(stack)
    addon = _addon(result, container_insights.ADDON)
    made = {g.inputs["name"]: g for g in result.of_type(LOG_GROUP) if "/containerinsights/" in g.inputs["name"]}
    assert set(made) == {f"/aws/containerinsights/mlplatform-{stack}/{kind}" for kind in groups}
    for group in made.values():
        assert group.inputs["retentionInDays"] == {"prod": 90, "dev": 7}[stack]
        assert group.inputs["kmsKeyId"] == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/cluster-logs-key"
        assert group.urn in addon.dependencies
    [association] = addon.inputs["podIdentityAssociations"]
    assert association["serviceAccount"] == container_insights.SERVICE_ACCOUNT == "cloudwatch-agent"
    role = association["roleArn"].rsplit("/", 1)[1]
    [policy] = [json.loads(p.inputs["policy"]) for p in result.of_type("aws:iam/rolePolicy:RolePolicy")
                if p.inputs["role"] == f"{role}-id"]
    writes = next(s for s in policy["Statement"] if s["Sid"] == "WriteContainerInsightsLogs")
    arns = {f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{name}" for name in made}
    assert set(writes["Resource"]) == arns | {f"{arn}:log-stream:*" for arn in arns}
    actions = {a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert "logs:PutRetentionPolicy" not in actions and not any(a.startswith(("xray:", "ssm:")) for a in actions)


def test_the_addon_runs_without_application_signals_and_tolerates_the_gpu_taint(prod, dev):
    for result, metrics in ((prod, True), (dev, False)):
        values = json.loads(_addon(result, container_insights.ADDON).inputs["configurationValues"])
        assert values["applicationSignals"] == {"enabled": False}
        assert values["manager"]["applicationSignals"]["autoMonitor"]["monitorAllServices"] is False
        assert values["containerInsights"] == {"enabled": metrics} and values["dcgmExporter"] == {"enabled": metrics}
        assert values["containerLogs"] == {"enabled": True}  # Fluent Bit in both modes
        # the GPU nodes' taint, tolerated by every DaemonSet (an Exists toleration without a key matches any taint)
        tolerations = values["tolerations"]
        assert any(t.get("operator") == "Exists" and t.get("key") in (None, GPU_TAINT_KEY) and
                   t.get("effect") in (None, "NoSchedule") for t in tolerations)


def test_container_insights_can_be_turned_off(without_insights):
    assert [a for a in without_insights.of_type(ADDON) if a.inputs["addonName"] == container_insights.ADDON] == []
    assert not [g for g in without_insights.of_type(LOG_GROUP) if "/containerinsights/" in g.inputs["name"]]
    # what does not read it stays: the database, cache and load balancer alarms, the dashboard, metrics-server
    assert set(_alarms(without_insights)) == {"database-cpu", "database-storage", "database-connections",
                                              "session-cache-memory-001", "front-door-unhealthy-targets"}
    assert _addon(without_insights, "metrics-server")


def test_log_metrics_count_the_gateways_json_access_log_and_cert_manager_errors(prod):
    filters = {f.inputs["name"]: f.inputs for f in prod.of_type("aws:cloudwatch/logMetricFilter:LogMetricFilter")}
    assert {f["logGroupName"] for f in filters.values()} == {"/aws/containerinsights/mlplatform-prod/application"}
    for metric, (short_name, pattern) in LOG_METRICS.items():
        transformation = filters[f"mlplatform-prod-{short_name}"]["metricTransformation"]
        assert transformation["name"] == metric
        assert transformation["namespace"] == log_metrics_namespace("mlplatform-prod")
        assert filters[f"mlplatform-prod-{short_name}"]["pattern"] == pattern
    # the patterns read fields the gateway writes only as JSON
    assert istio.mesh_config()["accessLogEncoding"] == "JSON"
    assert "$.log_processed.response_code >= 500" in LOG_METRICS[container_insights.FRONT_DOOR_ERRORS][1]


# ---- alarms ------------------------------------------------------------------------------------------------------

def test_alarms_watch_this_stacks_database_and_cache_nodes(each_stack):
    found = _alarms(each_stack)
    database = each_stack.one("aws:rds/instance:Instance").inputs
    for key in ("database-cpu", "database-storage", "database-connections"):
        assert found[key].inputs["dimensions"] == {"DBInstanceIdentifier": database["identifier"]}
        assert found[key].inputs["namespace"] == "AWS/RDS"
    assert found["database-storage"].inputs["threshold"] == max(2, database["allocatedStorage"] // 10) * 2**30
    cache = each_stack.one("aws:elasticache/replicationGroup:ReplicationGroup").inputs
    nodes = [f"{cache['replicationGroupId']}-{i:03d}" for i in range(1, cache["numCacheClusters"] + 1)]
    assert sorted(a.inputs["dimensions"]["CacheClusterId"] for k, a in found.items()
                  if k.startswith("session-cache-memory-")) == nodes


@pytest.mark.parametrize("instance_class,connections", [("db.t4g.small", 170), ("db.m7g.large", 682),
                                                        ("db.r7g.large", 1365), ("db.x2g.large", None)])
def test_the_connection_limit_follows_the_instance_class(instance_class, connections):
    # {DBInstanceClassMemory/12582880}: 2 GiB -> 170, 8 GiB -> 682, 16 GiB -> 1365
    assert default_max_connections(instance_class) == connections


def test_the_front_door_alarm_reads_the_load_balancer_its_service_names(prod):
    """The controller names the NLB as the gateway's Service asks; the alarm's query reads that load balancer's
    target groups (its id, looked up once the gateway's release made it)."""
    gateway = next(r for r in prod.of_type("kubernetes:helm.sh/v3:Release")
                   if r.inputs["name"] == "istio-ingressgateway")
    name = gateway.inputs["values"]["service"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-name"]
    assert name == "mlplatform-prod-gw" and len(name) <= 32
    [query] = _alarms(prod)["front-door-unhealthy-targets"].inputs["metricQueries"]
    assert f"WHERE LoadBalancer = 'net/{name}/0123456789abcdef' GROUP BY TargetGroup" in query["expression"]
    assert query["expression"].startswith('SELECT MAX(UnHealthyHostCount) FROM SCHEMA("AWS/NetworkELB"')


def test_container_alarms_watch_this_cluster_and_the_platforms_namespaces(prod, dev):
    found = _alarms(prod)
    assert found["nodes-not-ready"].inputs["dimensions"] == {"ClusterName": "mlplatform-prod"}
    [crash] = found["platform-pods-crash-looping"].inputs["metricQueries"]
    assert "WHERE ClusterName = 'mlplatform-prod' AND (" in crash["expression"]
    # exactly the platform's own namespaces: a team's namespace is the team's
    assert set(re.findall(r"Namespace = '([a-z0-9-]+)'", crash["expression"])) == namespaces.PLATFORM
    assert "ml-research" not in namespaces.PLATFORM
    [gpu] = found["gpu-node-idle"].inputs["metricQueries"]
    assert "AVG(node_gpu_utilization)" in gpu["expression"] and "GROUP BY NodeName" in gpu["expression"]
    assert found["gpu-node-idle"].inputs["evaluationPeriods"] * gpu["period"] == 2 * 3600
    rate = found["front-door-errors"].inputs["metricQueries"]
    assert {q["metric"]["metricName"] for q in rate if q.get("metric")} == {container_insights.FRONT_DOOR_REQUESTS,
                                                                           container_insights.FRONT_DOOR_ERRORS}
    # dev keeps logs only: the alarms on logs, none on node, pod or GPU metrics
    assert {"front-door-errors", "certificate-not-renewing"} <= set(_alarms(dev))
    assert not {"nodes-not-ready", "platform-pods-crash-looping", "gpu-node-idle"} & set(_alarms(dev))


def test_every_alarm_tells_the_encrypted_topic_and_says_why(each_stack):
    topic = each_stack.one("aws:sns/topic:Topic")
    assert topic.inputs["kmsMasterKeyId"] == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/cluster-logs-key"
    topic_arn = f"arn:aws:mock:us-east-1:{ACCOUNT}:Topic/alarms-topic"
    for key, alarm in _alarms(each_stack).items():
        assert alarm.inputs["alarmActions"] == [topic_arn] == alarm.inputs["okActions"], key
        rule = alarms.RULES[key.rsplit("-0", 1)[0]]
        assert alarm.inputs["alarmDescription"].startswith(rule.watches)
    policy = json.loads(each_stack.one("aws:sns/topicPolicy:TopicPolicy").inputs["policy"])
    publish = next(s for s in policy["Statement"] if s["Sid"] == "CloudWatchAlarmsPublish")
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert publish["Condition"]["ArnLike"] == {"aws:SourceArn": f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:*"}


def test_alarm_emails_subscribe_to_the_topic():
    result = evaluate("dev", lambda c: c.setdefault("mlplatform:observability", {}).update(
        alarmEmails=["oncall@corp.example", "lead@corp.example"]))
    subscriptions = result.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert sorted((s.inputs["protocol"], s.inputs["endpoint"]) for s in subscriptions) == [
        ("email", "lead@corp.example"), ("email", "oncall@corp.example")]


def test_every_rule_has_an_alarm_somewhere_and_every_alarm_a_rule(prod):
    made = {key.rsplit("-0", 1)[0] for key in _alarms(prod)}
    assert made == set(alarms.RULES)


# ---- the dashboard, metrics-server ---------------------------------------------------------------------------------

def test_the_dashboard_shows_this_stacks_cluster_database_and_cache(prod, dev):
    body = json.loads(prod.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    text = json.dumps(body)
    assert '"ClusterName", "mlplatform-prod"' in text and "node_gpu_utilization" in text
    assert f'"DBInstanceIdentifier", "{prod.one("aws:rds/instance:Instance").inputs["identifier"]}"' in text
    assert '"CacheClusterId", "mlplatform-prod-sessions-002"' in text
    assert prod.exports["dashboard_url"].endswith("#dashboards/dashboard/mlplatform-prod-health")
    dev_text = dev.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"]
    assert "node_gpu_utilization" not in dev_text and "FrontDoor5xx" in dev_text  # dev: logs only


def test_metrics_server_runs_as_an_eks_addon_the_api_server_reaches(each_stack):
    addon = _addon(each_stack, "metrics-server")
    assert addon.inputs["clusterName"] == f"mlplatform-{each_stack.stack}"
    rules = [r.inputs for r in each_stack.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
             if r.inputs.get("fromPort") == 10251]
    assert [(r["referencedSecurityGroupId"], r["toPort"]) for r in rules] == [("cluster-cluster-id", 10251)]
