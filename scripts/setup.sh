#!/usr/bin/env bash
# Install what a fresh Debian 12 machine lacks: the reference routing daemons, iproute2, ping, podman and
# debootstrap (the image test: scripts/image.sh builds the image without pulling anything), and npm packages.
# Idempotent: does nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for cmd in vtysh:frr bird:bird2 gobgpd:gobgpd exabgp:exabgp ip:iproute2 ping:iputils-ping tcpdump:tcpdump \
  podman:podman debootstrap:debootstrap; do
  command -v "${cmd%%:*}" >/dev/null 2>&1 || [ -x "/usr/lib/frr/${cmd%%:*}" ] || need+=("${cmd##*:}")
done
[ -x /usr/lib/frr/bgpd ] || need+=(frr)
# debootstrap checks the mirror's signatures against Debian's keyring.
[ -r /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages (${need[*]}); run as root or install them with apt-get" >&2
    exit 1
  fi
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends frr bird2 gobgpd exabgp iproute2 iputils-ping tcpdump procps \
    podman debootstrap debian-archive-keyring
fi
# Packaged daemons may start themselves on install; tests run their own copies in namespaces. Stop only those
# in this script's own (the host's) network namespace, one pid at a time: a name alone would also hit the
# copies that tests (here or in another checkout) run in namespaces, and a process that exits meanwhile is
# simply skipped.
host_net=$(readlink /proc/self/ns/net 2>/dev/null || true)
if [ -n "$host_net" ]; then
  for d in bird watchfrr zebra bgpd staticd gobgpd; do
    for pid in $(pgrep -x "$d" || true); do
      [ "$(readlink "/proc/$pid/ns/net" 2>/dev/null || true)" = "$host_net" ] && kill "$pid" 2>/dev/null
    done
  done
fi
true
# `ip route` prints our routes as `proto nodebgp`.
if [ "$(id -u)" -eq 0 ]; then
  mkdir -p /etc/iproute2/rt_protos.d
  echo "202 nodebgp" > /etc/iproute2/rt_protos.d/nodebgp.conf
fi
# `npm install` against the committed lockfile, not `npm ci`: npm 11 writes lockfiles without other platforms'
# optional packages (rollup's per-OS binaries) and `npm ci` then refuses that same lockfile as out of sync.
# With the lockfile present, install resolves exactly the locked versions.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ package.json -nt node_modules/.package-lock.json ]; then
  npm install --no-fund --no-audit
fi
