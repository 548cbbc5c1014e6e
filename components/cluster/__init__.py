"""The EKS cluster: control plane, node groups, core EKS add-ons and the Kubernetes provider."""
