"""The Pod Security Standards, baseline and restricted, as the Kubernetes 1.35 admission controller applies them
to a pod spec: what kubernetes.py judges every pod the stack runs by.

Source: kubernetes.io/docs/concepts/security/pod-security-standards (policy version "latest", Kubernetes 1.35),
one check per control, in the order that page lists them. Linux pods only: a pod with `spec.os.name: windows`
is exempt from the Linux-only controls there, and this platform runs none.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ._base import UNKNOWN, get, items, keys, known

LEVELS = ("privileged", "baseline", "restricted")  # weakest first
BASELINE_CAPABILITIES = frozenset({"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                                   "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})
SAFE_SYSCTLS = frozenset({"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
                          "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies",
                          "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                          "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                          "net.ipv4.tcp_keepalive_probes"})
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
RESTRICTED_VOLUMES = frozenset({"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                                "projected", "secret"})
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


def at_least(level: str, required: str) -> bool:
    return LEVELS.index(level) >= LEVELS.index(required)


def containers(pod: Any) -> Iterator[tuple[str, Any]]:
    """(name, container) for every container, init container and ephemeral container of a pod spec."""
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for container in items(get(pod, field)):
            name = get(container, "name")
            yield (name if isinstance(name, str) else "?"), container


def violations(pod: Any, level: str, pod_annotations: Any = None) -> list[str]:
    """What keeps a pod spec from meeting `level` ("baseline" or "restricted"); [] when it does. Values not known
    yet (a preview) are not judged."""
    controls = {"privileged": (), "baseline": BASELINE, "restricted": BASELINE + RESTRICTED}[level]
    every = list(containers(pod))
    return [problem for control in controls for problem in control(pod, every, pod_annotations)]


Containers = list[tuple[str, Any]]


# ---- baseline ------------------------------------------------------------------------------------------------

def _host_process(pod: Any, every: Containers, _annotations: Any) -> Iterator[str]:
    if get(pod, "securityContext", "windowsOptions", "hostProcess") is True or any(
            get(c, "securityContext", "windowsOptions", "hostProcess") is True for _, c in every):
        yield "runs as a Windows HostProcess"


def _host_namespaces(pod: Any, _every: Containers, _annotations: Any) -> Iterator[str]:
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if get(pod, field) is True:
            yield f"shares the node's namespaces ({field})"


def _privileged(_pod: Any, every: Containers, _annotations: Any) -> Iterator[str]:
    for name, c in every:
        if get(c, "securityContext", "privileged") is True:
            yield f"container {name} is privileged"


def _capabilities_beyond_baseline(_pod: Any, every: Containers, _annotations: Any) -> Iterator[str]:
    for name, c in every:
        added = [a for a in items(get(c, "securityContext", "capabilities", "add")) if known(a)]
        beyond = sorted(set(added) - BASELINE_CAPABILITIES)
        if beyond:
            yield f"container {name} adds capabilities {', '.join(beyond)}"


def _host_path(pod: Any, _every: Containers, _annotations: Any) -> Iterator[str]:
    for volume in items(get(pod, "volumes")):
        if get(volume, "hostPath") is not None:
            yield f"mounts a hostPath volume ({get(volume, 'name')})"


def _host_ports(_pod: Any, every: Containers, _annotations: Any) -> Iterator[str]:
    for name, c in every:
        for port in items(get(c, "ports")):
            host_port = get(port, "hostPort")
            if known(host_port) and host_port not in (None, 0):
                yield f"container {name} binds host port {int(host_port)}"


def _contexts(pod: Any, every: Containers) -> list[tuple[str, Any]]:
    return [("the pod", get(pod, "securityContext")),
            *((f"container {n}", get(c, "securityContext")) for n, c in every)]


def _app_armor(pod: Any, every: Containers, annotations: Any) -> Iterator[str]:
    for where, context in _contexts(pod, every):
        if get(context, "appArmorProfile", "type") not in (None, "RuntimeDefault", "Localhost", UNKNOWN):
            yield f"{where} runs without AppArmor"
    for key in keys(annotations):
        value = get(annotations, key)
        if key.startswith(APPARMOR_ANNOTATION) and known(value) and value != "runtime/default" \
                and not str(value).startswith("localhost/"):
            yield f"{key} is {value}"


def _se_linux(pod: Any, every: Containers, _annotations: Any) -> Iterator[str]:
    for where, context in _contexts(pod, every):
        options = get(context, "seLinuxOptions")
        if get(options, "type") not in (None, UNKNOWN) and get(options, "type") not in SELINUX_TYPES:
            yield f"{where} sets SELinux type {get(options, 'type')}"
        if get(options, "user") is not None or get(options, "role") is not None:
            yield f"{where} sets a SELinux user or role"


def _proc_mount(_pod: Any, every: Containers, _annotations: Any) -> Iterator[str]:
    for name, c in every:
        mount = get(c, "securityContext", "procMount")
        if mount not in (None, "Default", UNKNOWN):
            yield f"container {name} unmasks /proc (procMount {mount})"


def _seccomp_not_unconfined(pod: Any, every: Containers, _annotations: Any) -> Iterator[str]:
    for where, context in _contexts(pod, every):
        if get(context, "seccompProfile", "type") == "Unconfined":
            yield f"{where} runs without seccomp (Unconfined)"


def _sysctls(pod: Any, _every: Containers, _annotations: Any) -> Iterator[str]:
    for sysctl in items(get(pod, "securityContext", "sysctls")):
        name = get(sysctl, "name")
        if known(name) and name not in SAFE_SYSCTLS:
            yield f"sets the unsafe sysctl {name}"


# ---- restricted ----------------------------------------------------------------------------------------------

def _volume_types(pod: Any, _every: Containers, _annotations: Any) -> Iterator[str]:
    for volume in items(get(pod, "volumes")):
        # hostPath is baseline's to report
        outside = [k for k in keys(volume) if k not in RESTRICTED_VOLUMES and k not in ("name", "hostPath")]
        if outside:
            yield f"volume {get(volume, 'name')} is of type {', '.join(outside)}"


def _privilege_escalation(_pod: Any, every: Containers, _annotations: Any) -> Iterator[str]:
    for name, c in every:
        if get(c, "securityContext", "allowPrivilegeEscalation") not in (False, UNKNOWN):
            yield f"container {name} may escalate privileges (set allowPrivilegeEscalation: false)"


def _non_root(pod: Any, every: Containers, _annotations: Any) -> Iterator[str]:
    pod_non_root = get(pod, "securityContext", "runAsNonRoot")
    for name, c in every:  # the container's setting, or the pod's when the container says nothing
        if get(c, "securityContext", "runAsNonRoot", default=pod_non_root) not in (True, UNKNOWN):
            yield f"container {name} may run as root (set runAsNonRoot: true)"


def _non_root_user(pod: Any, every: Containers, _annotations: Any) -> Iterator[str]:
    for where, context in _contexts(pod, every):
        if get(context, "runAsUser") == 0:
            yield f"{where} runs as user 0"


def _seccomp_set(pod: Any, every: Containers, _annotations: Any) -> Iterator[str]:
    pod_profile = get(pod, "securityContext", "seccompProfile", "type")
    for name, c in every:  # the container's profile, or the pod's
        profile = get(c, "securityContext", "seccompProfile", "type", default=pod_profile)
        if profile not in ("RuntimeDefault", "Localhost", UNKNOWN):
            yield f"container {name} has no seccomp profile (set seccompProfile.type: RuntimeDefault)"


def _capabilities_dropped(_pod: Any, every: Containers, _annotations: Any) -> Iterator[str]:
    for name, c in every:
        dropped = items(get(c, "securityContext", "capabilities", "drop"))
        if UNKNOWN not in dropped and "ALL" not in dropped:
            yield f"container {name} keeps its capabilities (drop ALL)"
        added = [a for a in items(get(c, "securityContext", "capabilities", "add"))  # beyond baseline's: there
                 if a in BASELINE_CAPABILITIES and a != "NET_BIND_SERVICE"]
        if added:
            yield f"container {name} adds capabilities {', '.join(sorted(added))}"


BASELINE = (_host_process, _host_namespaces, _privileged, _capabilities_beyond_baseline, _host_path, _host_ports,
            _app_armor, _se_linux, _proc_mount, _seccomp_not_unconfined, _sysctls)
RESTRICTED = (_volume_types, _privilege_escalation, _non_root, _non_root_user, _seccomp_set, _capabilities_dropped)
