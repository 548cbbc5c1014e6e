"""Alarms: what a platform team must hear about on day one, sent to one encrypted SNS topic.

Each alarm is a rule in RULES (what it watches, when it fires, why): docs/observability.md's table is generated
from them. The alarms on Container Insights' metrics and logs exist only while it is on.

Sources for the metrics: Container Insights with enhanced observability (namespace ContainerInsights; the metric
and dimension sets the CloudWatch agent declares, aws/amazon-cloudwatch-agent translator/translate/otel/exporter/
awsemf/kubernetes.go); RDS, ElastiCache and NLB metrics from their user guides ("Monitoring ... with CloudWatch").
A metric whose dimension values are not known when the alarm is made (a node's, a pod's, a load balancer's target
groups) is watched through a Metrics Insights query, each series one contributor of the alarm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components import iam
from components.component import Component
from components.data.database import Database, default_max_connections
from components.data.session_cache import SessionCache
from components.kms import account_id
from components.observability.container_insights import (
    CERT_MANAGER_ERRORS,
    FRONT_DOOR_ERRORS,
    FRONT_DOOR_REQUESTS,
    METRICS_NAMESPACE,
    log_metrics_namespace,
)

FIVE_MINUTES = 300
GIB = 2**30


@dataclass(frozen=True)
class Rule:
    key: str        # the alarm is named <cluster>-<key>
    watches: str
    fires: str
    why: str


RULES = {rule.key: rule for rule in (
    Rule("nodes-not-ready", "Container Insights `cluster_failed_node_count`",
         "any node failed, for 15 minutes",
         "a node that stays NotReady takes its pods' capacity with it; Spot interruptions recover within minutes"),
    Rule("platform-pods-crash-looping",
         "Container Insights `pod_container_status_waiting_reason_crash_loop_back_off` in the platform's "
         "namespaces (Metrics Insights, one contributor per namespace)",
         "a container in CrashLoopBackOff, for 15 minutes",
         "a crash-looping controller, webhook or Kubeflow service breaks what depends on it; the teams' namespaces "
         "are theirs to watch"),
    Rule("gpu-node-idle",
         "Container Insights `node_gpu_utilization` per GPU node (Metrics Insights, one contributor per node)",
         "a GPU node under 5% utilisation for 2 hours",
         "a GPU held by an idle notebook or a stuck job keeps its node (and its hourly price) up; the autoscaler "
         "removes only nodes with nothing scheduled"),
    Rule("database-cpu", "RDS `CPUUtilization`", "above 80% for 15 minutes",
         "Pipelines, ML Metadata and Katib slow down together when the database saturates"),
    Rule("database-storage", "RDS `FreeStorageSpace`",
         "below 10% of the allocated storage (at least 2 GiB) for 30 minutes",
         "storage autoscaling should have grown it by then: it has reached its maximum or cannot grow yet"),
    Rule("database-connections", "RDS `DatabaseConnections`",
         "above 80% of the instance class's default max_connections for 15 minutes",
         "past the limit every new connection is refused, and Kubeflow's services fail at once"),
    Rule("session-cache-memory", "ElastiCache `DatabaseMemoryUsagePercentage`, each node",
         "above 80% for 15 minutes",
         "a full session cache evicts sessions: users are signed out"),
    Rule("front-door-unhealthy-targets",
         "NLB `UnHealthyHostCount` of the front door's target groups (Metrics Insights)",
         "any unhealthy gateway pod behind the NLB, for 5 minutes",
         "the front door runs on two gateway pods at least; an unhealthy one halves its capacity"),
    Rule("front-door-errors",
         "the ingress gateway's access log: responses 5xx per request (log metric filters on Container Insights' "
         "application log group)",
         "more than 5% of at least 20 requests for 15 minutes",
         "what users see: Kubeflow's services failing behind a healthy load balancer"),
    Rule("certificate-not-renewing",
         "cert-manager's error log lines (a log metric filter on Container Insights' application log group)",
         "errors on each of 2 days in a row",
         "cert-manager renews 30 days before expiry and retries failures with growing back-off: errors day after "
         "day mean the front door's certificate is heading for expiry"),
)}


@dataclass
class AlarmsArgs:
    cluster_name: str
    region: str
    key_arn: pulumi.Input[str]           # the cluster's logs key: its policy lets CloudWatch alarms use it
    emails: tuple[str, ...]
    platform_namespaces: tuple[str, ...]
    database: Database
    sessions: SessionCache
    gpus: bool                           # whether any node group has GPUs
    load_balancer_name: str              # the front door's NLB
    front_door: list[pulumi.Resource]    # the release that makes it (the look-up waits for it)
    container_insights: str              # "enhanced": its metrics and logs exist; "logs": its logs; "off"


class Alarms(Component):
    """`topic_arn`: where every alarm (and its recovery) is sent; subscribe a pager or a chat to it too."""
    topic_arn: pulumi.Output[str]
    alarm_names: list[str]

    def __init__(self, name: str, args: AlarmsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:alarms:Alarms", name, opts)
        self.resource_name, self.prefix = name, args.cluster_name
        topic = aws.sns.Topic(f"{name}-topic", name=f"{args.cluster_name}-alarms", kms_master_key_id=args.key_arn,
                              opts=self.child())
        aws.sns.TopicPolicy(
            f"{name}-topic", arn=topic.arn,
            policy=iam.to_json(pulumi.Output.all(topic.arn, account_id(self)).apply(
                lambda a: iam.alarm_topic_policy(a[0], args.region, a[1]))), opts=self.child())
        for index, email in enumerate(args.emails):
            aws.sns.TopicSubscription(f"{name}-email-{index}", topic=topic.arn, protocol="email", endpoint=email,
                                      opts=self.child())
        self.topic_arn = topic.arn
        self.alarm_names = []

        database, sessions = args.database, args.sessions
        self._metric("database-cpu", "AWS/RDS", "CPUUtilization", {"DBInstanceIdentifier": database.identifier},
                     "Average", ">", 80, periods=3)
        free_bytes = max(2 * GIB, database.allocated_storage_gib * GIB // 10)
        self._metric("database-storage", "AWS/RDS", "FreeStorageSpace", {"DBInstanceIdentifier": database.identifier},
                     "Minimum", "<", free_bytes, periods=6)
        connections = default_max_connections(database.instance_class)
        if connections is not None:
            self._metric("database-connections", "AWS/RDS", "DatabaseConnections",
                         {"DBInstanceIdentifier": database.identifier}, "Maximum", ">", int(connections * 0.8),
                         periods=3)
        for node in sessions.node_ids:
            self._metric("session-cache-memory", "AWS/ElastiCache", "DatabaseMemoryUsagePercentage",
                         {"CacheClusterId": node}, "Maximum", ">", 80, periods=3, suffix=node.rsplit("-", 1)[1])
        self._front_door_targets(args)
        if args.container_insights == "enhanced":
            self._container_metrics(args)
        if args.container_insights != "off":
            self._container_logs(args)
        self.register_outputs({"topic_arn": self.topic_arn})

    # ---- the alarms' forms ---------------------------------------------------------------------------------------

    def _alarm(self, key: str, suffix: str = "", **settings: Any) -> aws.cloudwatch.MetricAlarm:
        rule = RULES[key]
        name = f"{self.prefix}-{key}" + (f"-{suffix}" if suffix else "")
        self.alarm_names.append(name)
        settings.setdefault("treat_missing_data", "notBreaching")
        return aws.cloudwatch.MetricAlarm(
            f"{self.resource_name}-{key}" + (f"-{suffix}" if suffix else ""), name=name,
            alarm_description=f"{rule.watches}: {rule.fires}. {rule.why}.",
            alarm_actions=[self.topic_arn], ok_actions=[self.topic_arn], opts=self.child(), **settings)

    def _metric(self, key: str, namespace: str, metric: str, dimensions: dict[str, pulumi.Input[str]],
                statistic: str, comparison: str, threshold: float, periods: int, suffix: str = "",
                period: int = FIVE_MINUTES) -> None:
        self._alarm(key, suffix, namespace=namespace, metric_name=metric, dimensions=dimensions,
                    statistic=statistic, comparison_operator=COMPARISONS[comparison], threshold=threshold,
                    period=period, evaluation_periods=periods, datapoints_to_alarm=periods)

    def _query(self, key: str, query: pulumi.Input[str], comparison: str, threshold: float, periods: int,
               period: int = FIVE_MINUTES) -> None:
        """A Metrics Insights query: every series it returns is a contributor the alarm judges on its own."""
        self._alarm(key, comparison_operator=COMPARISONS[comparison], threshold=threshold,
                    evaluation_periods=periods, datapoints_to_alarm=periods,
                    metric_queries=[aws.cloudwatch.MetricAlarmMetricQueryArgs(
                        id="q", expression=query, period=period, return_data=True)])

    def _front_door_targets(self, args: AlarmsArgs) -> None:
        # The load balancer controller names the NLB as the Service asks; its id is known once the gateway's
        # release has made it (on a first preview, later).
        nlb = aws.lb.get_load_balancer_output(
            name=args.load_balancer_name, opts=pulumi.InvokeOutputOptions(parent=self, depends_on=args.front_door))
        self._query("front-door-unhealthy-targets", nlb.arn_suffix.apply(
            lambda suffix: 'SELECT MAX(UnHealthyHostCount) FROM SCHEMA("AWS/NetworkELB", LoadBalancer, TargetGroup) '
                           f"WHERE LoadBalancer = '{suffix}' GROUP BY TargetGroup"), ">", 0, periods=5, period=60)

    def _container_metrics(self, args: AlarmsArgs) -> None:
        cluster = args.cluster_name
        self._metric("nodes-not-ready", METRICS_NAMESPACE, "cluster_failed_node_count", {"ClusterName": cluster},
                     "Maximum", ">", 0, periods=3)
        namespaces = " OR ".join(f"Namespace = '{n}'" for n in sorted(args.platform_namespaces))
        self._query("platform-pods-crash-looping",
                    "SELECT MAX(pod_container_status_waiting_reason_crash_loop_back_off) "
                    f"FROM SCHEMA({METRICS_NAMESPACE}, ClusterName, Namespace, PodName) "
                    f"WHERE ClusterName = '{cluster}' AND ({namespaces}) GROUP BY Namespace", ">", 0, periods=3)
        if args.gpus:
            self._query("gpu-node-idle",
                        f"SELECT AVG(node_gpu_utilization) FROM SCHEMA({METRICS_NAMESPACE}, ClusterName, InstanceId, "
                        f"NodeName) WHERE ClusterName = '{cluster}' GROUP BY NodeName", "<", 5, periods=24)

    def _container_logs(self, args: AlarmsArgs) -> None:
        """On the metrics Container Insights' logs give (container_insights.LOG_METRICS)."""
        namespace = log_metrics_namespace(args.cluster_name)
        self._alarm(
            "front-door-errors", comparison_operator=COMPARISONS[">"], threshold=5, evaluation_periods=3,
            datapoints_to_alarm=3, metric_queries=[
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id=metric_id, return_data=False, metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                        namespace=namespace, metric_name=metric, period=FIVE_MINUTES, stat="Sum"))
                for metric_id, metric in (("requests", FRONT_DOOR_REQUESTS), ("errors", FRONT_DOOR_ERRORS))] + [
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="rate", expression="IF(requests >= 20, 100 * errors / requests, 0)",
                    label="5xx % of requests", return_data=True)])
        self._alarm("certificate-not-renewing", namespace=namespace, metric_name=CERT_MANAGER_ERRORS,
                    statistic="Sum", comparison_operator=COMPARISONS[">"], threshold=0, period=86400,
                    evaluation_periods=2, datapoints_to_alarm=2)


COMPARISONS = {">": "GreaterThanThreshold", "<": "LessThanThreshold"}
