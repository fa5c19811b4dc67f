#!/usr/bin/env bash
# A Schema Registry on 127.0.0.1 without Docker: Apicurio Registry 3.0.9 (in-memory storage), whose
# ready-built distribution Maven Central serves; its Confluent-compatible API is /apis/ccompat/v7.
#
#   docker/registry/registry.sh fetch        download and unpack the distribution (idempotent)
#   docker/registry/registry.sh start [DIR]  fetch, start on a free port, wait until ready; prints
#                                            `dir=DIR` and `url=http://127.0.0.1:PORT/apis/ccompat/v7`
#   docker/registry/registry.sh stop DIR     stop the registry started in DIR and remove DIR
#
# Cached in .cache/registry (override with TCPREUSE_REGISTRY_CACHE). Needs Java 17+ and Maven once.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
version=3.0.9
cache="${TCPREUSE_REGISTRY_CACHE:-$root/.cache/registry}"
dist="$cache/$version"
jar="$dist/apicurio-registry-app-$version-runner.jar"

die() { echo "registry.sh: $*" >&2; exit 1; }

fetch() {
  command -v java >/dev/null || die "java not found (the registry needs Java 17+)"
  [ -f "$dist/.complete" ] && return 0
  command -v mvn >/dev/null || die "mvn not found (needed once, to fetch the registry from Maven Central)"
  rm -rf "$dist"
  mkdir -p "$dist"
  mvn -q -B dependency:copy -Dartifact="io.apicurio:apicurio-registry-app:$version:tar.gz:all" -DoutputDirectory="$dist" >&2 \
    || die "could not fetch io.apicurio:apicurio-registry-app:$version from Maven Central"
  tar xzf "$dist/apicurio-registry-app-$version-all.tar.gz" -C "$dist"
  rm "$dist/apicurio-registry-app-$version-all.tar.gz"
  [ -f "$jar" ] || die "the distribution has no $(basename "$jar")"
  touch "$dist/.complete"
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

start() {
  fetch
  local dir="${1:-}"
  if [ -z "$dir" ]; then dir="$(mktemp -d "${TMPDIR:-/tmp}/tcpreuse-registry.XXXXXX")"; fi
  trap 'stop "$dir"' ERR
  local port
  port="$(free_port)"
  echo "$port" >"$dir/port"
  # exec: the pid recorded is java's own, so stop reaches it.
  (cd "$dir" && exec nohup java -Xmx512m -Dquarkus.http.port="$port" -Dquarkus.http.host=127.0.0.1 -jar "$jar" >"$dir/registry.log" 2>&1) &
  echo $! >"$dir/pid"
  for _ in $(seq 1 120); do
    if curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1; then
      # With TCPREUSE_REGISTRY_OWNER_PID set (the test runner does), the registry goes when its owner goes.
      if [ -n "${TCPREUSE_REGISTRY_OWNER_PID:-}" ]; then
        nohup bash -c "while kill -0 $TCPREUSE_REGISTRY_OWNER_PID 2>/dev/null && [ -d '$dir' ]; do sleep 2; done; [ -d '$dir' ] && '$here/registry.sh' stop '$dir'" \
          >/dev/null 2>&1 &
      fi
      echo "dir=$dir"
      echo "url=http://127.0.0.1:$port/apis/ccompat/v7"
      return 0
    fi
    kill -0 "$(cat "$dir/pid")" 2>/dev/null || { tail -20 "$dir/registry.log" >&2; die "the registry exited during start-up"; }
    sleep 0.5
  done
  tail -20 "$dir/registry.log" >&2
  die "the registry did not become ready within 60 s"
}

stop() {
  local dir="${1:-}"
  [ -n "$dir" ] && [ -d "$dir" ] || die "stop needs the directory start printed"
  if [ -f "$dir/pid" ]; then
    local pid
    pid="$(cat "$dir/pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  fetch) fetch ;;
  start) start "${2:-}" ;;
  stop) stop "${2:-}" ;;
  *) die "usage: registry.sh fetch | start [DIR] | stop DIR" ;;
esac
