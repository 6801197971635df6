#!/usr/bin/env bash
# The quick-start demo: nodebgp (AS 65002) peering with a real FRR router (AS 65001), each in its own network
# namespace, joined by a veth pair (FRR 10.77.0.1/24, nodebgp 10.77.0.2/24). Run as root on Debian 12:
#
#   ./scripts/demo-frr.sh          set up, show the session and the routes both ways, tear everything down
#   ./scripts/demo-frr.sh --keep   leave it running and print how to look around and how to tear it down
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

KEEP=0
case "${1:-}" in
  --keep) KEEP=1 ;;
  "") ;;
  -h | --help) sed -n '2,7p' "$0"; exit 0 ;;
  *) echo "usage: $0 [--keep]" >&2; exit 2 ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "demo.sh: run as root (it creates network namespaces)" >&2; exit 1; }

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "setup (packages, npm install) and build"
./scripts/setup.sh
npm run build --silent

ID="$$"
NS_FRR="nbdemo-frr-$ID"
NS_NODE="nbdemo-node-$ID"
VETH_FRR="nbf$ID"
VETH_NODE="nbn$ID"
WORK=$(mktemp -d "/tmp/nodebgp-demo-$ID.XXXX")
chmod 755 "$WORK" # FRR runs as user frr and writes its pid files and vty sockets below it
SOCK="$WORK/nodebgp.sock"
NODEBGP="$REPO/bin/nodebgp"

# One teardown script, used by the trap and printed for --keep.
cat >"$WORK/teardown.sh" <<TEARDOWN
#!/usr/bin/env bash
# Tear down the nodebgp demo $ID.
[ -f "$WORK/nodebgp.pid" ] && kill -TERM "\$(cat "$WORK/nodebgp.pid")" 2>/dev/null && sleep 1
for p in "$WORK"/frr/*.pid; do [ -f "\$p" ] && kill "\$(cat "\$p")" 2>/dev/null; done
sleep 0.5
ip netns del "$NS_FRR" 2>/dev/null
ip netns del "$NS_NODE" 2>/dev/null
rm -rf "$WORK"
echo "nodebgp demo $ID torn down"
TEARDOWN
chmod +x "$WORK/teardown.sh"
cleanup() {
  local rc=$?
  if [ "$KEEP" -eq 1 ] && [ "$rc" -eq 0 ]; then return; fi
  step "teardown"
  "$WORK/teardown.sh" || true
  exit "$rc"
}
trap cleanup EXIT

step "network namespaces $NS_FRR and $NS_NODE, veth $VETH_FRR <-> $VETH_NODE"
ip netns add "$NS_FRR"
ip netns add "$NS_NODE"
ip link add "$VETH_FRR" netns "$NS_FRR" type veth peer name "$VETH_NODE" netns "$NS_NODE"
ip -n "$NS_FRR" addr add 10.77.0.1/24 dev "$VETH_FRR"
ip -n "$NS_FRR" addr add fd00:77::1/64 dev "$VETH_FRR" nodad
ip -n "$NS_NODE" addr add 10.77.0.2/24 dev "$VETH_NODE"
ip -n "$NS_NODE" addr add fd00:77::2/64 dev "$VETH_NODE" nodad
for ns in "$NS_FRR" "$NS_NODE"; do ip -n "$ns" link set lo up; done
ip -n "$NS_FRR" link set "$VETH_FRR" up
ip -n "$NS_NODE" link set "$VETH_NODE" up

step "FRR (AS 65001) in $NS_FRR: zebra + bgpd, announcing 10.0.1.0/24 and 2001:db8:1::/48"
mkdir -p "$WORK/frr"
cat >"$WORK/frr/zebra.conf" <<'CONF'
hostname frr-demo
CONF
cat >"$WORK/frr/bgpd.conf" <<'CONF'
hostname frr-demo
router bgp 65001
 bgp router-id 10.77.0.1
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 10.77.0.2 remote-as 65002
 neighbor 10.77.0.2 description nodebgp
 neighbor 10.77.0.2 timers 3 9
 neighbor 10.77.0.2 timers connect 5
 address-family ipv4 unicast
  network 10.0.1.0/24
 exit-address-family
 address-family ipv6 unicast
  network 2001:db8:1::/48
  neighbor 10.77.0.2 activate
 exit-address-family
CONF
chown -R frr:frr "$WORK/frr"
FRR_OPTS=(-d -u frr -g frr -P 0 --vty_socket "$WORK/frr" -z "$WORK/frr/zserv.api")
ip netns exec "$NS_FRR" /usr/lib/frr/zebra "${FRR_OPTS[@]}" -f "$WORK/frr/zebra.conf" -i "$WORK/frr/zebra.pid" \
  --log "file:$WORK/frr/zebra.log"
for _ in $(seq 50); do [ -S "$WORK/frr/zserv.api" ] && break; sleep 0.1; done
ip netns exec "$NS_FRR" /usr/lib/frr/bgpd "${FRR_OPTS[@]}" -f "$WORK/frr/bgpd.conf" -i "$WORK/frr/bgpd.pid" \
  --log "file:$WORK/frr/bgpd.log"
VTYSH=(ip netns exec "$NS_FRR" vtysh --vty_socket "$WORK/frr")

step "nodebgp (AS 65002) in $NS_NODE, config $WORK/nodebgp.yaml (deploy/example-config.yaml, own socket)"
sed -e "s|^controlSocket: .*|controlSocket: $SOCK|" \
  -e 's|^  # address6: fd00:77::2|  address6: fd00:77::2|' \
  deploy/example-config.yaml >"$WORK/nodebgp.yaml"
if [ ! -f dist/routing/fib.js ]; then
  echo "(routing/ is not built: kernel.enabled set to false for this run)"
  sed -i 's|^  enabled: true|  enabled: false|' "$WORK/nodebgp.yaml"
fi
"$NODEBGP" config check "$WORK/nodebgp.yaml"
ip netns exec "$NS_NODE" "$NODEBGP" run --config "$WORK/nodebgp.yaml" >"$WORK/nodebgp.log" 2>&1 &
echo $! >"$WORK/nodebgp.pid"

step "waiting for the session to reach Established (up to 60 s)"
established=0
for i in $(seq 120); do
  if ! kill -0 "$(cat "$WORK/nodebgp.pid")" 2>/dev/null; then
    echo "nodebgp exited; its log:" >&2; tail -20 "$WORK/nodebgp.log" >&2; exit 1
  fi
  if "$NODEBGP" neighbors --json --socket "$SOCK" 2>/dev/null | grep -q '"state": "Established"'; then
    established=1; echo "Established after $((i / 2)) s"; break
  fi
  sleep 0.5
done
if [ "$established" -ne 1 ]; then
  echo "no session after 60 s; nodebgp log:" >&2; tail -20 "$WORK/nodebgp.log" >&2
  "${VTYSH[@]}" -c 'show bgp summary' >&2 || true
  exit 1
fi
# Let both sides exchange their tables.
for _ in $(seq 20); do
  "${VTYSH[@]}" -c 'show bgp ipv4 unicast 10.244.2.0/24' 2>/dev/null | grep -q 65002 &&
    [ "$("$NODEBGP" routes --json --socket "$SOCK" | grep -c '"prefix"')" -ge 4 ] && break
  sleep 0.5
done

step "nodebgp neighbors"
"$NODEBGP" neighbors --socket "$SOCK"
step "nodebgp routes"
"$NODEBGP" routes --socket "$SOCK"
step "nodebgp fib"
"$NODEBGP" fib --socket "$SOCK"
step "kernel routes in $NS_NODE (proto nodebgp)"
ip -n "$NS_NODE" route show proto 202 || true
ip -n "$NS_NODE" -6 route show proto 202 || true
step "FRR: show bgp summary"
"${VTYSH[@]}" -c 'show bgp summary'
step "FRR: show bgp ipv4 unicast"
"${VTYSH[@]}" -c 'show bgp ipv4 unicast'
step "FRR: show bgp ipv6 unicast"
"${VTYSH[@]}" -c 'show bgp ipv6 unicast'

ok=1
"${VTYSH[@]}" -c 'show bgp ipv4 unicast' | grep -q '10.244.2.0/24' || { echo "FRR did not receive 10.244.2.0/24" >&2; ok=0; }
"${VTYSH[@]}" -c 'show bgp ipv6 unicast' | grep -q 'fd00:244:2::/64' || { echo "FRR did not receive fd00:244:2::/64" >&2; ok=0; }
"$NODEBGP" routes 10.0.1.0/24 --json --socket "$SOCK" | grep -q '"best": true' || { echo "nodebgp has no best route for 10.0.1.0/24" >&2; ok=0; }
"$NODEBGP" routes 2001:db8:1::/48 --json --socket "$SOCK" | grep -q '"best": true' || { echo "nodebgp has no best route for 2001:db8:1::/48" >&2; ok=0; }
step "summary"
if [ "$ok" -eq 1 ]; then
  echo "demo OK: session Established; FRR received 10.244.2.0/24 and fd00:244:2::/64 from nodebgp;"
  echo "nodebgp selected FRR's 10.0.1.0/24 and 2001:db8:1::/48"
else
  echo "demo FAILED (see above); nodebgp log: $WORK/nodebgp.log"; exit 1
fi

if [ "$KEEP" -eq 1 ]; then
  cat <<EOF2

The demo is still running. Look around:
  $NODEBGP neighbors --socket $SOCK
  $NODEBGP routes --socket $SOCK
  $NODEBGP fib --socket $SOCK
  ${VTYSH[*]} -c 'show bgp summary'
  ip -n $NS_NODE route
  tail -f $WORK/nodebgp.log
Tear it down:
  $WORK/teardown.sh
EOF2
fi
