#!/usr/bin/env bash
# The quick-start demo: the leaf-spine lab (two FRR spines, two FRR leaves, four nodebgp nodes with pods),
# brought up in network namespaces without Docker. Run as root on Debian 12:
#
#   ./scripts/demo.sh          set up, bring the lab up, show sessions, routes, the FIB and pod-to-pod pings,
#                              then tear the lab down
#   ./scripts/demo.sh --keep   leave the lab running and print how to look around and how to tear it down
#
# ./scripts/demo-frr.sh is the smaller demo: one nodebgp peering with one FRR router.
set -euo pipefail
cd "$(dirname "$0")/.."

KEEP=0
case "${1:-}" in
  --keep) KEEP=1 ;;
  "") ;;
  -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
  *) echo "usage: $0 [--keep]" >&2; exit 2 ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "demo.sh: run as root (it creates network namespaces)" >&2; exit 1; }

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
lab() { bin/nodebgp lab "$@"; }
LAB=leaf-spine
# This demo's run of the lab: its own namespaces and state, so another run of leaf-spine on this machine
# (an earlier --keep, a test) is neither in its way nor taken down by it.
RUN="$LAB-demo$$"

step "setup (packages, npm install) and build"
./scripts/setup.sh
npm run build --silent

if [ "$KEEP" -eq 0 ]; then
  trap 'step "tearing the lab down"; lab down "$RUN"' EXIT
fi

step "bringing up labs/$LAB/$LAB.clab.yml in network namespaces (run $RUN)"
lab up "$LAB" --name "$RUN"
step "waiting for every session and every pod route"
lab wait "$RUN" --timeout 90

step "nodebgp neighbors on n1"
lab exec "$RUN" n1 -- nodebgp neighbors
step "nodebgp routes on n1"
lab exec "$RUN" n1 -- nodebgp routes
step "nodebgp fib on n1 (what nodebgp wants beside what the kernel holds)"
lab exec "$RUN" n1 -- nodebgp fib
step "the kernel's routing table on n1 (ECMP via leaf1 is upstream; proto nodebgp is ours)"
lab exec "$RUN" n1 -- ip route
step "vtysh -c 'show bgp summary' on leaf1"
lab exec "$RUN" leaf1 -- vtysh -c 'show bgp summary'
step "pings from a pod on every node to a pod on every other node"
lab ping-matrix "$RUN"

if [ "$KEEP" -eq 1 ]; then
  cat <<MSG

The lab is still running as run $RUN. Look around (while it is the only run of $LAB,
the lab's name works too: bin/nodebgp lab status $LAB):
  bin/nodebgp lab status $RUN
  bin/nodebgp lab exec $RUN n3 -- nodebgp routes
  bin/nodebgp lab exec $RUN spine1 -- vtysh -c 'show ip route'
Tear it down:
  bin/nodebgp lab down $RUN
MSG
fi
step "demo OK"
