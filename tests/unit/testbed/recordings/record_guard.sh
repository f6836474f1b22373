#!/usr/bin/env bash
# Records the egress guard of testbed/networks.py on this machine (root, docker running):
# a network tb-guard 198.18.251.0/24, a network namespace on its bridge (no container image
# needed) sending ONE udp packet to 198.19.255.254 (inside the project range, not one of
# our networks: the machine routes it out, the guard drops and counts it, nothing leaves)
# and one to 100.100.100.100 (the tailnet's range: dropped, counted apart), then the
# removal. The package mirror's addresses are replaced by MIRROR in every file.
#     bash tests/unit/testbed/recordings/record_guard.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
out=$here/guard
net=tb-guard
ns=tbguard$$
mkdir -p "$out"
rm -f "$out"/*
cleanup() {
  ip netns del "$ns" 2>/dev/null || true
  python3 "$root/testbed/networks.py" remove "$net" >/dev/null 2>&1 || true
}
trap cleanup EXIT
ipt() { iptables -w "$@" 2>/dev/null; }

python3 "$root/testbed/networks.py" remove "$net" >/dev/null
ipt -S DOCKER-USER >"$out/iptables-S-DOCKER-USER-before.txt"
python3 "$root/testbed/networks.py" create "$net" 198.18.251.0/24 >"$out/create.txt"
python3 "$root/testbed/networks.py" create "$net" 198.18.251.0/24 >"$out/create-again.txt"
bridge=br-$(docker network inspect "$net" --format '{{.Id}}' | cut -c1-12)
ipt -S "HSLAB-$net" >"$out/iptables-S-HSLAB-$net.txt"
ipt -S DOCKER-USER >"$out/iptables-S-DOCKER-USER.txt"

ip netns add "$ns"
ip link add "v$ns" type veth peer name eth0 netns "$ns"
ip link set "v$ns" master "$bridge" up
ip -n "$ns" link set lo up
ip -n "$ns" addr add 198.18.251.20/24 dev eth0
ip -n "$ns" link set eth0 up
ip -n "$ns" route add default via 198.18.251.1
ip netns exec "$ns" python3 -c "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'hslab-control', ('198.19.255.254', 9))"
ip netns exec "$ns" python3 -c "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'hslab-control', ('100.100.100.100', 9))"
sleep 1
ipt -L "HSLAB-$net" -v -x -n >"$out/iptables-L-HSLAB-$net.txt"
ipt -L DOCKER-USER -v -x -n >"$out/iptables-L-DOCKER-USER.txt"
dmesg | grep -F "HSLAB $net" >"$out/dmesg-HSLAB-$net.txt" || true
python3 "$root/testbed/networks.py" egress "$net" >"$out/egress.txt" || echo "(exit $?)" >>"$out/egress.txt"
python3 "$root/testbed/networks.py" egress "$net" --json >"$out/egress.json" || true
ip netns del "$ns"

python3 "$root/testbed/networks.py" remove "$net" >"$out/remove.txt"
ipt -S DOCKER-USER >"$out/iptables-S-DOCKER-USER-after.txt"
{ ipt -S | grep -i hslab || true; } >"$out/iptables-S-hslab-after-remove.txt"
python3 "$root/testbed/networks.py" mirror --json | python3 -c '
import json, sys
for entry in json.load(sys.stdin):
    print(entry["address"])' | sort -u | while read -r address; do
  sed -i "s/${address//./\\.}/MIRROR/g" "$out"/*
done
