"""Kubeflow from its pinned release: the platform layer (namespaces, roles, the gateway and Istio policies) and the
applications, each applied from an overlay beside the component that applies it."""
