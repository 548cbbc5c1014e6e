"""Assembles the mlplatform policy pack; the policies live in mlplatform_policies/.

Run locally with: pulumi preview --stack dev --policy-pack policies
"""

from mlplatform_policies import ALL_POLICIES
from pulumi_policy import PolicyPack

PolicyPack(name="mlplatform", policies=ALL_POLICIES)
