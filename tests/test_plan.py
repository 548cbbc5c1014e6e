"""`make plan`: the tree, the verdicts, the cost and the deploy time it reports for a stack (offline/plan.py)."""

import json
import shutil

import pytest
import yaml

from components.instance_types import CATALOGUE
from offline import capacity, cost, deploy_time, plan
from offline.engine import ROOT
from offline.tree import is_provider
from tests.fixtures import FIXTURES, stack_config

DEV_IDLE_BUDGET = 350.0  # USD per month: what dev may cost with nothing running on it (issue: cost as a constraint)


def _plan(result):
    return plan.from_result(result, plan.usage_profile(stack_config(result.stack)))


@pytest.fixture(scope="session")
def dev_plan(dev, shared):
    return shared("dev_plan", lambda: _plan(dev))


@pytest.fixture(scope="session")
def prod_plan(prod, shared):
    return shared("prod_plan", lambda: _plan(prod))


@pytest.fixture(scope="module")
def each_plan(each_stack, dev_plan, prod_plan):
    """The plan of `each_stack` (so a test may use both)."""
    return {"dev": dev_plan, "prod": prod_plan}[each_stack.stack]


# ---- the resource tree -------------------------------------------------------------------------------------

def _ancestors(resource, by_urn):
    found = []
    while resource.parent in by_urn:
        resource = by_urn[resource.parent]
        found.append(resource.urn)
    return found


def test_tree_counts_match_the_registered_resources(each_stack, each_plan):
    registered = each_stack.resources
    by_urn = {r.urn: r for r in registered}
    reported = plan.as_json(each_plan)["resources"]
    assert reported["total"] == len(registered)
    components = [r for r in registered if r.component]
    assert len(reported["components"]) == len(components)
    for component in components:
        inside = [r for r in registered if component.urn in _ancestors(r, by_urn)]
        entry = reported["components"][each_plan.tree.path(component)]
        assert entry["resources"] == len(inside), component.name
        direct = [r for r in inside if r.parent == component.urn and not r.component]
        assert sum(entry["by_type"].values()) == len(direct)
        for type_, count in entry["by_type"].items():
            assert count == sum(1 for r in direct if r.type == type_)
    # and the drawn tree says the same: one line per component with its count
    drawn = "\n".join(plan.tree_lines(each_plan.tree))
    for component in components:
        count = sum(1 for r in registered if component.urn in _ancestors(r, by_urn))
        assert f"{component.name}  {component.type}  {count}" in drawn


def test_protected_and_retained_are_listed(prod_plan, prod, dev_plan):
    reported = plan.as_json(prod_plan)["resources"]
    assert sorted(reported["protected"]) == sorted(prod_plan.tree.path(r) for r in prod.resources if r.protect)
    assert "database/database-mysql" in reported["protected"]
    assert "artifacts/artifacts-bucket" in reported["retained_on_delete"]
    assert plan.as_json(dev_plan)["resources"]["protected"] == []


# ---- the policy verdicts -----------------------------------------------------------------------------------

def _program_with(tmp_path, change):
    """A copy of the program whose dev stack file has `change` applied."""
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, tmp_path / name)
    stack = yaml.safe_load((FIXTURES / "Pulumi.dev.yaml").read_text())
    change(stack["config"])
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump(stack))
    return tmp_path


def _grow_and_break(c):
    """One more node group, a bigger database class, and backups too short for the pack."""
    c["mlplatform:nodeGroups"].append({"name": "batch", "instanceTypes": ["m6i.xlarge"], "minSize": 1,
                                       "desiredSize": 1, "maxSize": 3, "diskSizeGiB": 50})
    c["mlplatform:data"]["database"].update(instanceClass="db.t4g.medium", backupRetentionDays=1)


def test_the_command_reports_a_violation_and_the_cost_of_a_change(tmp_path, capsys, dev_plan):
    """Through `python -m offline.plan`'s entry point: a mandatory violation is printed, written and fails the
    command; one more node group and a bigger database class cost exactly their prices more."""
    program = _program_with(tmp_path, _grow_and_break)
    assert plan.main(["dev"], program=program, out=tmp_path / "plan") == 1
    out, err = capsys.readouterr()
    # the report is still printed and written, with the pack's own words
    assert "**mandatory** `rds-backups-kept` on `database/database-mysql`: " in out
    assert "backups are kept 1 days, fewer than 7" in out
    assert "1 mandatory policy violation(s)" in err
    written = json.loads((tmp_path / "plan" / "dev.json").read_text())
    [violation] = written["policies"]["mandatory"]
    assert (violation["policy"], violation["resource"]) == ("rds-backups-kept", "database/database-mysql")

    prices = cost.PriceTable.load()
    one_node = prices.ec2["m6i.xlarge"] * prices.hours + 50 * prices.usd("ebs_gp3_gb_month")
    table = prices.data["rds_mysql_instance_hour"]
    database_step = (table["db.t4g.medium"]["single_az"] - table["db.t4g.small"]["single_az"]) * prices.hours
    assert written["cost"]["idle_per_month"] == pytest.approx(dev_plan.cost.idle + one_node + database_step, abs=0.01)
    assert written["cost"]["max_per_month"] == pytest.approx(dev_plan.cost.max + 3 * one_node + database_step,
                                                             abs=0.01)
    items = {line["item"] for line in written["cost"]["lines"]}
    assert "cluster-batch-ng: 1-3 x m6i.xlarge on-demand" in items and any("db.t4g.medium" in i for i in items)


def test_a_config_error_raises_the_preview_message():
    with pytest.raises(plan.PlanError, match=r"^error: invalid stack configuration:\n.*mlplatform:network"):
        plan.build("dev", lambda c: c["mlplatform:network"].update(vpcCidr="10.0.0.0/33"))


# ---- cost ----------------------------------------------------------------------------------------------------

def test_every_billable_type_the_program_registers_is_priced(each_plan, prod_variant, dev_variant):
    for result in (prod_variant, dev_variant):
        estimate = cost.estimate(result.resources, plan.usage_profile(stack_config(result.stack)))
        assert estimate.unpriced == [], estimate.unpriced
    assert each_plan.cost.unpriced == []
    types = {r.type for r in each_plan.resources if not r.component and not is_provider(r)}
    assert types <= set(cost.PRICED) | set(cost.FREE), types - set(cost.PRICED) - set(cost.FREE)


def test_a_type_the_table_does_not_know_is_not_priced_not_free(dev, dev_plan):
    unknown = next(r for r in dev.resources if r.type == "aws:eks/nodeGroup:NodeGroup")
    stranger = type(unknown)(**{**unknown.__dict__, "type": "aws:ec2/instance:Instance", "urn": unknown.urn + "-x"})
    estimate = cost.estimate([*dev.resources, stranger], "dev")
    assert [(u.type, u.reason) for u in estimate.unpriced] == [("aws:ec2/instance:Instance",
                                                              "type not in offline/cost.py")]
    assert "**Not priced**" not in plan.markdown(dev_plan)


def test_every_catalogued_instance_type_has_a_price_or_a_reason():
    prices = cost.PriceTable.load()
    missing = [name for name in CATALOGUE if name not in prices.ec2 and name not in prices.ec2_not_offered]
    assert missing == []


def test_dev_idle_stays_under_budget(dev_plan):
    assert dev_plan.cost.idle <= DEV_IDLE_BUDGET, f"dev idles at ${dev_plan.cost.idle:.2f} a month"


def test_dev_always_on_capacity_holds_kubeflow_and_the_addons(dev_plan):
    """Upstream asks 8 vCPU and 16 GiB for the whole Kubeflow install; dev's untainted groups at their minimum
    offer that to pods on top of the add-ons' requests, after kubelet's reservations."""
    available, nodes = capacity.always_on(dev_plan.resources)
    assert nodes == 3
    assert available == capacity.allocatable("c6a.xlarge").times(3) == capacity.Resources(3 * 3920, 3 * 7199)
    assert available.holds(capacity.KUBEFLOW_RECOMMENDED + capacity.addon_requests(nodes))
    assert "that holds Kubeflow's recommended" in plan.markdown(dev_plan)


def test_capacity_follows_the_al2023_reservations():
    assert capacity.allocatable("m6i.2xlarge") == capacity.Resources(8000 - 90, 32768 - 893 - 100)
    two_nodes = capacity.allocatable("c6a.xlarge").times(2)  # one node fewer no longer holds it
    assert not two_nodes.holds(capacity.KUBEFLOW_RECOMMENDED + capacity.addon_requests(2))


def test_spot_is_priced_below_on_demand_from_the_cheapest_listed_type(dev):
    [system] = [g for g in dev.of_type("aws:eks/nodeGroup:NodeGroup") if g.name == "cluster-system-ng"]
    assert system.inputs["capacityType"] == "SPOT"
    prices = cost.PriceTable.load()
    line = next(line for line in cost.estimate(dev.resources, "dev").lines if line.item.startswith("cluster-system-ng")
                and "Spot" in line.item)
    cheapest = min(prices.ec2[t] for t in system.inputs["instanceTypes"])
    minimum = system.inputs["scalingConfig"]["minSize"]
    assert line.idle == pytest.approx(minimum * cheapest * prices.spot_factor * prices.hours)


def test_prod_prices_multi_az_and_on_demand(prod_plan):
    items = [line.item for line in prod_plan.cost.lines]
    assert any("db.m7g.large Multi-AZ" in i for i in items)
    assert any("m6i.2xlarge on-demand" in i for i in items)
    assert prod_plan.cost.idle > 3 * plan.as_json(prod_plan)["cost"]["components"]["session-cache"]["idle"]


# ---- deploy time -----------------------------------------------------------------------------------------------

def _longest_chain(resources, times):
    """An independent longest path: relax every resource's finish time until nothing changes."""
    tree = plan.ResourceTree(resources)
    custom = [r for r in resources if not r.component]
    weight = {r.urn: deploy_time.create_seconds(r, times) or 0.0 for r in custom}
    finish = dict(weight)
    changed = True
    while changed:
        changed = False
        for r in custom:
            best = weight[r.urn] + max((finish[u] for u in tree.waits_for(r) if u in finish), default=0.0)
            if best > finish[r.urn]:
                finish[r.urn], changed = best, True
    return max(finish.values())


def test_critical_path_is_a_real_path_and_the_longest(each_stack, each_plan):
    by_urn = {r.urn: r for r in each_stack.resources}
    path = each_plan.deploy.critical_path
    for before, after in zip(path, path[1:], strict=False):
        waiting = by_urn[after.urn]
        direct = set(waiting.dependencies) | {waiting.provider.rsplit("::", 1)[0]}
        for deps in waiting.property_dependencies.values():
            direct |= set(deps)
        via_component = any(u in direct for u in _ancestors(by_urn[before.urn], by_urn))
        assert before.urn in direct or via_component, f"{after.name} does not wait for {before.name}"
    times = deploy_time.load_times()
    assert each_plan.deploy.critical_seconds == _longest_chain(each_stack.resources, times)
    assert each_plan.deploy.critical_seconds < each_plan.deploy.total_seconds
    assert any(step.type == "aws:eks/cluster:Cluster" for step in path)


def test_kubernetes_resources_wait_for_the_cluster_through_their_provider(dev_plan, dev):
    tree = dev_plan.tree
    namespace = dev.one("kubernetes:core/v1:Namespace", "database-namespace")
    provider = dev.one("pulumi:providers:kubernetes")
    assert provider.urn in tree.waits_for(namespace)
    assert dev.one("aws:eks/cluster:Cluster").urn in tree.waits_for(provider)


def test_every_registered_type_has_a_create_time(each_plan):
    assert each_plan.deploy.untimed == {}


def test_the_data_tier_does_not_wait_for_the_control_plane(prod_plan, prod):
    """RDS and the cache are named from config, not from the EKS resource, so they are created in parallel with
    the ~9-minute control plane instead of after it."""
    tree = plan.ResourceTree(prod.resources)
    eks = prod.one("aws:eks/cluster:Cluster")
    for type_ in ("aws:rds/instance:Instance", "aws:elasticache/replicationGroup:ReplicationGroup"):
        waited = set()
        todo = [prod.one(type_).urn]
        while todo:
            for urn in tree.waits_for(tree.by_urn[todo.pop()]):
                if urn not in waited:
                    waited.add(urn)
                    todo.append(urn)
        assert eks.urn not in waited, type_


# ---- the command ---------------------------------------------------------------------------------------------

def test_a_config_error_prints_the_preview_message_and_fails(tmp_path, capsys):
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, tmp_path / name)
    text = (FIXTURES / "Pulumi.dev.yaml").read_text().replace("minSize: 3", "minSize: 7", 1)
    (tmp_path / "Pulumi.dev.yaml").write_text(text)
    summary = tmp_path / "summary.md"  # what the pull-request workflow shows ($GITHUB_STEP_SUMMARY)
    assert plan.main(["dev", "--summary", str(summary)], program=tmp_path, out=tmp_path / "plan") == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: invalid stack configuration:")
    message = "mlplatform:nodeGroups[system]: needs minSize <= desiredSize <= maxSize, got 7 <= 3 <= 6"
    assert message in err
    assert not (tmp_path / "plan").exists()
    assert "The program fails before it creates anything" in summary.read_text() and message in summary.read_text()


def test_the_command_prints_the_report_and_writes_both_files(tmp_path, capsys, monkeypatch, dev_plan):
    monkeypatch.setattr(plan, "build", lambda stack, program: dev_plan)  # evaluated once, by the fixture
    summary = tmp_path / "summary.md"
    assert plan.main(["dev", "--summary", str(summary)], out=tmp_path) == 0
    out, _ = capsys.readouterr()
    sections = ["## Resources", "## Policy pack", "## Monthly cost", "## Cold deploy time"]
    assert [out.index(s) for s in sections] == sorted(out.index(s) for s in sections)
    written = (tmp_path / "dev.md").read_text()
    assert "```mermaid" not in out and "```mermaid" in written
    assert summary.read_text() == written + "\n"
    assert json.loads((tmp_path / "dev.json").read_text())["stack"] == "dev"
    assert plan.main(["no-such-stack"], out=tmp_path) == 2


# ---- warnings ----------------------------------------------------------------------------------------------------

def test_a_stack_file_that_is_not_yaml_fails_with_one_line(tmp_path, capsys):
    _program_with(tmp_path, lambda c: None)
    text = (tmp_path / "Pulumi.dev.yaml").read_text().replace("vpcCidr:", "vpcCidr: [", 1)
    (tmp_path / "Pulumi.dev.yaml").write_text(text)
    assert plan.main(["dev"], program=tmp_path, out=tmp_path / "plan") == 2
    out, err = capsys.readouterr()
    line = next(n for n, text in enumerate(text.splitlines(), 1) if "vpcCidr: [" in text)
    assert out == "" and len(err.splitlines()) == 1
    assert err.startswith(f"error: {tmp_path / 'Pulumi.dev.yaml'}:{line + 1}:")  # where YAML noticed, no traceback


def test_what_two_stacks_must_not_share_is_named(tmp_path):
    """A second stack file copied from dev with only its environment changed: same VPC range, hostname and deploy
    role (its cluster name differs: mlplatform-<stack>)."""
    program = _program_with(tmp_path, lambda c: None)
    (program / "Pulumi.qa.yaml").write_text((program / "Pulumi.dev.yaml").read_text())
    warnings = plan.shared_with_other_stacks("dev", yaml.safe_load((program / "Pulumi.dev.yaml").read_text())[
        "config"], program)
    assert [w.split(" ", 1)[0] for w in warnings] == ["mlplatform:network.vpcCidr", "Kubeflow's",
                                                      "mlplatform:cluster.deployRoleArn"]
    assert "10.10.0.0/16 overlaps qa's 10.10.0.0/16" in warnings[0]

    def apart(c):
        c["mlplatform:network"]["vpcCidr"] = "10.11.0.0/16"
        c["mlplatform:addons"]["dns"]["domain"] = "qa.ml.example.com"
        c["mlplatform:cluster"]["deployRoleArn"] = "arn:aws:iam::111122223333:role/mlplatform-deploy-qa"
    qa = yaml.safe_load((program / "Pulumi.qa.yaml").read_text())
    apart(qa["config"])
    (program / "Pulumi.qa.yaml").write_text(yaml.safe_dump(qa))
    assert plan.shared_with_other_stacks("dev", yaml.safe_load((program / "Pulumi.dev.yaml").read_text())[
        "config"], program) == []


def test_prices_read_for_another_region_are_said_so(dev):
    assert not [w for w in plan.from_result(dev, "dev").warnings if "list prices" in w]
    moved = type(dev)(**{**dev.__dict__, "resources": [
        type(r)(**{**r.__dict__, "inputs": {**r.inputs, "region": "eu-west-1"}}) if r.type == "pulumi:providers:aws"
        else r for r in dev.resources]})
    [note] = [w for w in plan.from_result(moved, "dev").warnings if "list prices" in w]
    assert note.startswith("The stack deploys to eu-west-1; the prices below are us-east-1's list prices")
