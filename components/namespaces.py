"""Every namespace the platform itself uses, declared once.

The components take their namespaces from here, and config refuses a team named like any of them (a team's
profile is a namespace of the same name). tests/test_components.py checks that every namespace the program
creates or installs into is listed.
"""

# Kubernetes' own.
DEFAULT = "default"
KUBE_SYSTEM = "kube-system"
KUBE_PUBLIC = "kube-public"
KUBE_NODE_LEASE = "kube-node-lease"
# Cluster add-ons with a namespace of their own (the others run in kube-system).
CERT_MANAGER = "cert-manager"
EXTERNAL_DNS = "external-dns"
EXTERNAL_SECRETS = "external-secrets"
# The CloudWatch observability add-on (its agent, Fluent Bit and GPU exporter).
CLOUDWATCH = "amazon-cloudwatch"
# Stakater Reloader, which restarts the workloads whose Secrets change.
RELOADER = "reloader"
# The data tier's database bootstrap job.
DATA = "mlplatform-data"
# The mesh: Istio and its gateways, and Kubeflow's login (named as Kubeflow's manifests name them).
ISTIO = "istio-system"
DEX = "auth"
OAUTH2_PROXY = "oauth2-proxy"
# Kubeflow's own, as its manifests name them: the applications, Trainer and JobSet, Knative Serving.
KUBEFLOW = "kubeflow"
KUBEFLOW_SYSTEM = "kubeflow-system"
KNATIVE_SERVING = "knative-serving"
# The MLflow tracking server (an optional application next to Kubeflow's).
MLFLOW = "mlflow"

# The Pod Security level every namespace the program creates enforces, as Kubeflow's own namespaces do: a pod that
# could escalate, run as root or keep Linux capabilities is refused at admission.
RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted"}

RESERVED = frozenset({DEFAULT, KUBE_SYSTEM, KUBE_PUBLIC, KUBE_NODE_LEASE, CERT_MANAGER, EXTERNAL_DNS, EXTERNAL_SECRETS,
                      CLOUDWATCH, RELOADER, DATA, ISTIO, DEX, OAUTH2_PROXY, KUBEFLOW, KUBEFLOW_SYSTEM, KNATIVE_SERVING,
                      MLFLOW})
# Where the platform's own pods run (its alarms watch these; the teams' namespaces are theirs).
PLATFORM = RESERVED - {DEFAULT, KUBE_PUBLIC, KUBE_NODE_LEASE}
