"""Shared fixtures, each evaluated once per test run:

- `dev`, `prod` and one variant of each: the stacks the tests own (tests/stacks/), for exact values;
- `stack_file`: each stack file at the project root (the adopter's own), for what holds in any configuration.

A whole-program evaluation costs about a second, so changes that touch separate parts of the config share
one variant evaluation instead of one each; every test names the change it relies on. Evaluations are keyed by
the configuration itself, so a stack file that says what a fixture says is evaluated once for both. The tests
run on every CPU (pytest-xdist): the first worker to need an evaluation makes it and the others read it (the
pattern in pytest-xdist's documentation, "Making session-scoped fixtures execute only once").
"""

import hashlib
import json
import pickle

import pytest
from filelock import FileLock

from offline import engine
from offline.analyzer import load_pack, stack_findings
from offline.engine import StackResult
from tests.fixtures import FIXTURES, evaluate

VPN_CIDR = "10.100.0.0/24"
COMPANY_IDP = {"name": "Example SSO", "issuer": "https://login.example.com", "clientId": "kubeflow-dex",
               "clientSecret": "company-idp-client-secret-value"}  # as the engine hands a decrypted secret
PINNED_ADDONS = {"coredns": "v1.12.9-eksbuild.7", "aws-ebs-csi-driver": "v1.50.1-eksbuild.1"}
EVERYDAY_DATABASE = {"instanceClass": "db.r7g.xlarge", "allocatedStorageGiB": 200, "maxAllocatedStorageGiB": 1000,
                     "backupRetentionDays": 30}


@pytest.fixture(scope="session")
def pack():
    """The policy pack as `pulumi preview --policy-pack policies` loads it (offline/analyzer.py)."""
    return load_pack()


@pytest.fixture(scope="session")
def shared(tmp_path_factory, request):
    """shared(name, make): make() once per test run, by whichever worker asks first; the others read it."""
    distributed = hasattr(request.config, "workerinput")  # set on pytest-xdist's workers
    made: dict[str, object] = {}  # what this process already has

    def once(name, make):
        if name in made:
            return made[name]
        if not distributed:
            made[name] = make()
            return made[name]
        path = tmp_path_factory.getbasetemp().parent / f"{name}.pickle"
        with FileLock(f"{path}.lock"):
            if path.exists():
                made[name] = pickle.loads(path.read_bytes())
            else:
                made[name] = make()
                path.write_bytes(pickle.dumps(made[name]))
        return made[name]
    return once


def _evaluated(stack: str, change=None, preview: bool = False) -> StackResult:
    result = evaluate(stack, change, preview=preview)
    if result.error:
        raise result.error
    return result


def evaluated_file(shared, stack: str, directory) -> StackResult:
    """The evaluation of `directory`/Pulumi.<stack>.yaml as it is, shared with any other file of the same stack
    name and configuration."""
    config = json.dumps(engine.stack_config(stack, stack_files=directory), sort_keys=True)
    key = f"{stack}-{hashlib.sha256(config.encode()).hexdigest()[:16]}"

    def make() -> StackResult:
        result = engine.evaluate(stack, stack_files=directory)
        if result.error:
            raise result.error
        stack_findings(result)  # the pack's findings travel with the evaluation, so no worker computes them again
        return result
    return shared(key, make)


@pytest.fixture(scope="session")
def dev(shared) -> StackResult:
    return evaluated_file(shared, "dev", FIXTURES)


@pytest.fixture(scope="session")
def prod(shared) -> StackResult:
    return evaluated_file(shared, "prod", FIXTURES)


@pytest.fixture(scope="session")
def dev_preview(shared) -> StackResult:
    """dev as its first `pulumi preview` sees it: every computed output unknown."""
    return shared("dev_preview", lambda: _evaluated("dev", preview=True))


@pytest.fixture(scope="session")
def prod_preview(shared) -> StackResult:
    return shared("prod_preview", lambda: _evaluated("prod", preview=True))


@pytest.fixture(scope="session", params=["dev", "prod"])
def each_stack(request, dev, prod) -> StackResult:
    return {"dev": dev, "prod": prod}[request.param]


def _dev_changes(c):
    c["mlplatform:addons"]["efs"] = True                                                  # optional add-on on
    c["mlplatform:nodeGroups"] = c["mlplatform:nodeGroups"][:1]                         # no GPU group
    c["mlplatform:cluster"]["publicAccessCidrs"] = []                                    # private endpoint only,
    c["mlplatform:cluster"]["privateAccessCidrs"] = [VPN_CIDR]                            # reached over a VPN
    c["mlplatform:cluster"]["addonVersions"] = PINNED_ADDONS
    for key in ("natGateways", "flowLogs"):                                               # the environment decides
        c["mlplatform:network"].pop(key)
    c["mlplatform:mesh"]["companyIdp"] = COMPANY_IDP                                       # sign in with SSO too


@pytest.fixture(scope="session")
def dev_variant(shared) -> StackResult:
    """dev with: EFS on, no GPU group, a private-only endpoint reached from a VPN range, two add-ons pinned,
    NAT / flow-log settings left to the environment's defaults, and a company identity provider."""
    return shared("dev_variant", lambda: _evaluated("dev", _dev_changes))


def _prod_changes(c):
    data = c["mlplatform:data"]
    data["database"].update(EVERYDAY_DATABASE)
    data["sessionCache"].update(nodeType="cache.r7g.large", nodes=3)
    data["artifactStore"]["noncurrentVersionDays"] = 180
    gpu = c["mlplatform:nodeGroups"][1]
    gpu["instanceTypes"] = ["p4d.24xlarge", "p4de.24xlarge"]
    # ...as GPU groups were before they were made fast (a 125 MiB/s root volume, containerd's default pull, images
    # from ghcr.io), in the network's second AZ, with no warm hours
    gpu.update(diskThroughputMiBps=125, diskIops=3000, fastImagePull=False, zone="us-east-1b")
    gpu.pop("warmHours")
    c["mlplatform:cluster"].pop("registryMirror")
    c["mlplatform:kubeflow"]["cullIdleNotebooksMinutes"] = 0                               # culling off
    c["mlplatform:data"]["packageIndex"] = {"enabled": False}                              # no package index
    for key in ("natGateways", "flowLogs"):
        c["mlplatform:network"].pop(key)
    c["mlplatform:mesh"].update(loadBalancerScheme="internal", hostname="kubeflow.internal.prod.ml.example.com")


SERVICES_PUBLISHER = "arn:aws:iam::111122223333:role/ci-publisher"
SERVICES_IMPORT_PATH = "s3://ml-datasets-example/imagenet"


def _dev_services_changes(c):
    c["mlplatform:kubeflow"].setdefault("applications", {})["mlflow"] = True               # MLflow on
    c["mlplatform:addons"]["fsx"] = {"enabled": True, "deploymentType": "PERSISTENT_1",    # Lustre, importing S3
                                     "throughputPerTiB": 100, "s3ImportPath": SERVICES_IMPORT_PATH}
    c["mlplatform:data"]["packageIndex"] = {"publisherRoleArns": [SERVICES_PUBLISHER]}      # a package publisher


@pytest.fixture(scope="session")
def dev_services(shared) -> StackResult:
    """dev with every optional service on: MLflow, FSx for Lustre (PERSISTENT_1 at 100 MB/s/TiB importing an S3
    prefix), and a package publisher."""
    return shared("dev_services", lambda: _evaluated("dev", _dev_services_changes))


@pytest.fixture(scope="session", autouse=True)
def _evaluations_spread_over_workers(request, shared):
    """Each worker starts with its share of the evaluations most tests need, so no worker waits on another's."""
    worker = getattr(request.config, "workerinput", None)
    if worker is None:
        return
    index, count = int(worker["workerid"].removeprefix("gw")), int(worker["workercount"])
    for name in ("dev", "prod", "dev_variant", "prod_variant", "dev_preview", "prod_preview",
                 "dev_services")[index::count]:
        request.getfixturevalue(name)


@pytest.fixture(scope="session")
def prod_variant(shared) -> StackResult:
    """prod with everyday changes (bigger database and cache, longer version history), its GPU group on
    p4d/p4de (8 A100s each) as GPU groups were before they were made fast (125 MiB/s root, default pull, images from
    ghcr.io: no mirror, no warm hours) in the second AZ, notebook culling off, no package index, NAT / flow-log
    settings left to the environment's defaults, and an internal front door with its own hostname."""
    return shared("prod_variant", lambda: _evaluated("prod", _prod_changes))
