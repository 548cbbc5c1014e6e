"""Everything `make generate` writes is what the code declares (regenerate when this fails); the docs' tables
cover what they list, every generated section is on some page, and every link between pages resolves."""

import re

from tools import docs, generate


def test_generated_files_are_current(dev, prod):
    docs.EXAMPLES.update(dev=dev, prod=prod)  # the same evaluations the tables would make
    stale = [str(path.relative_to(generate.ROOT)) for path, make in generate.files().items()
             if not path.exists() or path.read_text() != make()]
    assert stale == [], f"stale: {stale}; run `make generate`"


def test_every_policy_rule_key_and_add_on_has_a_row(dev, prod):
    docs.EXAMPLES.update(dev=dev, prod=prod)
    from mlplatform_policies import ALL_POLICIES

    from components import addons, kubeflow, mesh
    from components.cluster.cluster import security_group_rules
    from components.config import NetworkConfig

    assert all(f"`{p.name}`" in docs.policies() for p in ALL_POLICIES)
    rules = security_group_rules([*addons.WEBHOOKS, *mesh.WEBHOOKS, *kubeflow.WEBHOOKS])
    assert len(docs.security_groups().splitlines()) == len(rules) + 2
    table = docs.config_table()
    assert all(f"`network.{f.alias}`" in table for f in NetworkConfig.model_fields.values())
    listed = docs.addons()
    for release in prod.of_type("kubernetes:helm.sh/v3:Release"):
        if release.inputs["chart"] in ("aws-load-balancer-controller", "cert-manager", "external-secrets"):
            assert f"| {release.inputs['chart']} |" in listed and f"chart {release.inputs['version']}" in listed
    assert len(docs.keys().splitlines()) == len(prod.of_type("aws:kms/key:Key")) + 2


def test_every_generated_section_is_on_a_page():
    fences = {name for page in generate.pages() for name in re.findall(r"<!-- generated:([a-z-]+) -->",
                                                                       page.read_text())}
    assert fences == set(docs.SECTIONS)


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_relative_link_resolves():
    for page in generate.pages():
        for target, anchor in re.findall(r"\]\((?!https?:)([^)#\s]*)(?:#([^)\s]+))?\)", page.read_text()):
            path = (page.parent / target).resolve() if target else page
            assert path.exists(), f"{page.name} links to {target}, which does not exist"
            if anchor:
                headings = {_anchor(h) for h in re.findall(r"^#+ (.*)$", path.read_text(), re.M)}
                assert anchor in headings, f"{page.name} links to {target}#{anchor}: no such heading"


def test_the_readme_stays_short_with_its_status_on_the_first_screen():
    lines = generate.README.read_text().splitlines()
    assert len(lines) <= 250
    assert next(n for n, line in enumerate(lines) if line == "## Status and limits") < 20
