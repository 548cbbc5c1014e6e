"""The mesh: Istio from its Helm charts, the HTTPS front door, and Kubeflow's login (Dex + oauth2-proxy)."""
