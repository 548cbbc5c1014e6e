"""Data services: the state Kubeflow keeps outside the cluster (RDS, S3, ElastiCache)."""
