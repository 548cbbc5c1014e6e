"""Everything `make generate` writes is what the code declares: regenerate when this fails."""

from tools import generate


def test_generated_files_are_current():
    stale = [str(path.relative_to(generate.ROOT)) for path, make in generate.files().items()
             if not path.exists() or path.read_text() != make()]
    assert stale == [], f"stale: {stale}; run `make generate`"


def test_every_policy_rule_and_key_has_a_row():
    from mlplatform_policies import ALL_POLICIES

    from components import addons, kubeflow, mesh
    from components.cluster.cluster import security_group_rules
    from components.config import NetworkConfig

    assert all(f"`{p.name}`" in generate.policies() for p in ALL_POLICIES)
    rules = security_group_rules([*addons.WEBHOOKS, *mesh.WEBHOOKS, *kubeflow.WEBHOOKS])
    assert len(generate.security_groups().splitlines()) == len(rules) + 2
    table = generate.config_table()
    assert all(f"`network.{f.alias}`" in table for f in NetworkConfig.model_fields.values())
