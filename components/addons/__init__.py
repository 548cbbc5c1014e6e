"""Cluster add-ons: one controller per module, each on its own Pod Identity role."""
