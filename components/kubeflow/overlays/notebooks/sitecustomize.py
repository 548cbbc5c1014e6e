"""An honest notebook status in the Jupyter web app (kubeflow/notebooks v1.11.0) while a GPU node comes up.

Python imports this at start (PYTHONPATH, jupyter-web-app-deployment.yaml). It wraps two functions of the web app's
apps/common/status.py when that module loads; process_status() calls them through the module, so nothing else
changes. Upstream, at v1.11.0 (components/crud-web-apps/jupyter/backend/apps/common/status.py):

- get_status_from_container_state() means to show a container waiting in PodInitializing as "waiting", but tests
  `if ["reason"] == 'PodInitializing'` (a list against a string, never true): every waiting container, an image pull
  included, shows as a warning. Here ContainerCreating and PodInitializing are waiting, with what is happening.
- get_status_from_conditions() shows any pod condition with a reason as a warning: a pod that waits for
  cluster-autoscaler to start its GPU node (PodScheduled false, Unschedulable) reads as an error for minutes. Here it
  is waiting while the autoscaler's last word on it (re-issued on the Notebook by the notebook controller) is
  TriggeredScaleUp, or while the pod waits for a GPU the autoscaler has not answered about yet; a NotTriggerScaleUp
  (no node group can run it) stays a warning, and says so.

Both are small and worth upstreaming (README.md, "What we changed upstream").
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from typing import Any

TARGET = "apps.common.status"
PULLING = ("ContainerCreating", "PodInitializing")
SCALE_UP, NO_SCALE_UP = "TriggeredScaleUp", "NotTriggerScaleUp"
WAITING_FOR_GPU = "Insufficient nvidia.com/gpu"


def patch(module: Any) -> None:
    phase = module.status.STATUS_PHASE
    upstream_container_state = module.get_status_from_container_state
    upstream_conditions = module.get_status_from_conditions

    def get_status_from_container_state(notebook):
        waiting = notebook.get("status", {}).get("containerState", {}).get("waiting") or {}
        if waiting.get("reason") in PULLING:
            return phase.WAITING, ("Pulling the notebook's image and starting it (a GPU image on a new node takes a "
                                   "minute or two)")
        return upstream_container_state(notebook)

    def get_status_from_conditions(notebook):
        conditions = notebook.get("status", {}).get("conditions") or []
        unschedulable = next((c for c in conditions if c.get("type") == "PodScheduled"
                              and c.get("reason") == "Unschedulable"), None)
        if unschedulable is None:
            return upstream_conditions(notebook)
        autoscaler = [e for e in module.get_notebook_events(notebook) if e.reason in (SCALE_UP, NO_SCALE_UP)]
        latest = max(autoscaler, key=module.event_timestamp, default=None)
        if latest is not None and latest.reason == SCALE_UP:
            return phase.WAITING, "Starting a node for this notebook (cluster-autoscaler scaled up its group)"
        if latest is not None:
            return phase.WARNING, f"No node group can run this notebook: {latest.message}"
        if WAITING_FOR_GPU in unschedulable.get("message", ""):
            return phase.WAITING, "Waiting for a GPU node: cluster-autoscaler is about to start one"
        return upstream_conditions(notebook)

    module.get_status_from_container_state = get_status_from_container_state
    module.get_status_from_conditions = get_status_from_conditions


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Finds apps.common.status as Python would, and patches it right after it runs."""

    def find_spec(self, name, path, target=None):
        if name != TARGET:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            patch(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


sys.meta_path.insert(0, _PatchOnImport())
