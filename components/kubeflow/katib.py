"""Katib: hyperparameter tuning from the pinned release, its database (`katib`, created by the data tier's
bootstrap job) on the stack's RDS. The overlay (overlays/katib) drops the in-cluster MySQL and reads the
connection from Secret katib-mysql-secrets, kept here from Secrets Manager (the data tier's katib user)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi

from components.addons.external_secrets import ExternalSecrets
from components.cluster.cluster import Webhook
from components.component import Component
from components.data.database import KATIB_DATABASE, Database
from components.kubeflow.platform import Platform
from components.mesh.upstream import KUBEFLOW_NAMESPACE
from components.overlay import overlay

OVERLAY = Path(__file__).parent / "overlays" / "katib"
DATABASE_SECRET = "katib-mysql-secrets"
# applications/katib/upstream/installs/katib-cert-manager/katib-config.yaml: webhookPort 8443.
WEBHOOKS = (Webhook(8443, "Katib webhooks"),)


@dataclass
class KatibArgs:
    platform: Platform
    database: Database
    secrets: ExternalSecrets


class Katib(Component):
    def __init__(self, name: str, args: KatibArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:katib:Katib", name, opts)
        # The keys Katib's db-manager reads (pkg/db/v1beta1/mysql: DB_USER, DB_PASSWORD, KATIB_MYSQL_DB_*).
        credentials = args.secrets.sync(
            f"{name}-database-credentials", parent=self, name=DATABASE_SECRET, namespace=KUBEFLOW_NAMESPACE,
            remote_key=args.database.katib_secret_name,
            keys={"DB_USER": "username", "DB_PASSWORD": "password", "KATIB_MYSQL_DB_HOST": "host",
                  "KATIB_MYSQL_DB_PORT": "port"},
            literals={"KATIB_MYSQL_DB_DATABASE": KATIB_DATABASE},
            rotation=args.database.credentials_version, depends_on=[*args.platform.ready, *args.database.ready])
        self.ready = [overlay(f"{name}-katib", parent=self, path=OVERLAY,
                              depends_on=[credentials, *args.platform.ready, *self.waits_for])]
        self.register_outputs({})
