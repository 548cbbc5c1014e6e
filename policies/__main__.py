"""Assembles the mlplatform policy pack; the policies live in mlplatform_policies/.

Run locally with: pulumi preview --stack dev --policy-pack policies
"""

from pulumi_policy import PolicyPack

from mlplatform_policies import ALL_POLICIES

PolicyPack(name="mlplatform", policies=ALL_POLICIES)
