#!/usr/bin/env bash
# podman as this kind of machine (a VM without a Docker engine, with a hybrid cgroup layout the OCI
# runtime refuses) can run containers: host network, no cgroups, in a mount namespace of its own
# with a cgroup2 file system over /sys/fs/cgroup. Builds work with --isolation=chroot as they are.
# Container storage is made a shared mount first, so a container's root file system mounted by one
# invocation is seen by the next (`podman exec`, `podman healthcheck run`); the cgroup2 mount stays
# in the namespace (the host's /sys/fs/cgroup is a private mount).
#   docker/podman/podman.sh run --rm tcpreuse:latest --version
# On a machine with Docker or a regular podman, use docker/podman directly instead.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export CONTAINERS_CONF="$here/containers.conf" CONTAINERS_STORAGE_CONF="$here/storage.conf"
storage=/var/lib/containers
if [ "$(findmnt -n -o PROPAGATION --target "$storage" 2>/dev/null || true)" != shared ] || ! mountpoint -q "$storage"; then
  mkdir -p "$storage"
  mountpoint -q "$storage" || mount --bind "$storage" "$storage"
  mount --make-shared "$storage"
fi
exec unshare -m --propagation unchanged bash -c 'mount -t cgroup2 none /sys/fs/cgroup && exec podman "$@"' podman "$@"
