#!/usr/bin/env bash
# Stand-ins for the base images the Dockerfiles name, for machines that cannot pull from an image
# registry (these test VMs reach Debian's and npm's package servers, not Docker Hub):
#   docker.io/library/node:20-bookworm-slim   Debian bookworm (mmdebstrap minbase) + this machine's
#                                             node and npm in /usr/local, user `node` (uid 1000), and
#                                             this machine's CA bundle (package registries are reached
#                                             through it: npm ci in a build fails without it)
# Usage: docker/podman/standins.sh    (idempotent; the rootfs is cached in .cache/containers)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${TCPREUSE_CONTAINERS_CACHE:-$root/.cache/containers}"
die() { echo "standins.sh: $*" >&2; exit 1; }

command -v podman >/dev/null || die "podman not found (apt-get install podman)"
command -v mmdebstrap >/dev/null || die "mmdebstrap not found (apt-get install mmdebstrap)"
mkdir -p "$cache"
if [ ! -f "$cache/rootfs.tar" ]; then
  mmdebstrap --quiet --format=tar --variant=minbase bookworm "$cache/rootfs.tar.part" >&2 || die "mmdebstrap could not make a bookworm rootfs"
  mv "$cache/rootfs.tar.part" "$cache/rootfs.tar"
fi
podman image exists localhost/tcpreuse-standin-base:bookworm || podman import --quiet "$cache/rootfs.tar" localhost/tcpreuse-standin-base:bookworm >/dev/null

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
node_bin="$(readlink -f "$(command -v node)")"
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
cp "$node_bin" "$ctx/node"
cp -r "$npm_dir" "$ctx/npm"
cp /etc/ssl/certs/ca-certificates.crt "$ctx/ca-certificates.crt"
cat >"$ctx/Containerfile" <<'CONTAINERFILE'
FROM localhost/tcpreuse-standin-base:bookworm
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && groupadd -g 1000 node && useradd -u 1000 -g node -m -s /bin/bash node
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
CONTAINERFILE
podman build --quiet --isolation=chroot --format docker -t docker.io/library/node:20-bookworm-slim "$ctx" >/dev/null
echo "node=docker.io/library/node:20-bookworm-slim"
