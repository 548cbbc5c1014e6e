#!/bin/bash
# Mounts the image cache, an EBS volume made from a snapshot of containerd's store (docs/kubeflow.md, "The image
# cache"), where containerd keeps images: a new node starts with the notebook images already pulled.
#
# cloud-init runs this before containerd first starts: nodeadm-run.service, which starts containerd, runs after
# cloud-final.service (awslabs/amazon-eks-ami templates/al2023/runtime/rootfs/etc/systemd/system/nodeadm-run.service).
set -euo pipefail

device=/dev/xvdb            # the launch template maps the snapshot here; udev links it to its NVMe name
store=/var/lib/containerd

for _ in $(seq 60); do
  [ -e "$device" ] && break
  sleep 1
done
[ -e "$device" ] || { echo "image cache: $device never appeared; containerd keeps its store on the root volume" >&2; exit 0; }

mkdir -p "$store"
mount -o noatime "$device" "$store"
echo "$device $store xfs noatime,nofail 0 2" >> /etc/fstab

# The AMI caches its pause (sandbox) image in the store this mount hides; put it back from the AMI's own archive
# (templates/al2023/runtime/bin/cache-pause-container) once containerd runs, in case the cache was built without it.
mkdir -p /etc/systemd/system/containerd.service.d
cat > /etc/systemd/system/containerd.service.d/20-image-cache.conf <<'UNIT'
[Service]
ExecStartPost=/usr/bin/ctr --namespace k8s.io image import /etc/eks/pause.tar
UNIT
systemctl daemon-reload
