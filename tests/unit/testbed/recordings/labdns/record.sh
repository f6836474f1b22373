#!/usr/bin/env bash
# Records real DNS queries (glibc's resolver over UDP and TCP, Python's getaddrinfo) sent
# to testbed/labdns.py, and what the resolver's clients made of the answers.
# Runs as root in a private network and mount namespace (nothing leaves the machine):
#     unshare -n -m bash tests/unit/testbed/recordings/labdns/record.sh
# Writes glibc-queries.jsonl (labdns.py --raw log) and glibc-answers.txt (getent output)
# next to this script.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../../.." && pwd)
work=$(mktemp -d)
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
ip link set lo up
# getaddrinfo(AI_ADDRCONFIG) asks nothing without a non-loopback address: a veth pair.
ip link add lab0 type veth peer name lab1
ip addr add 198.18.99.53/24 dev lab0
ip link set lab1 up
ip link set lab0 up
printf 'nameserver 198.18.99.53\n' >"$work/resolv.conf"
mount --bind "$work/resolv.conf" /etc/resolv.conf
log=$here/glibc-queries.jsonl
out=$here/glibc-answers.txt
rm -f "$log"
python3 "$root/testbed/labdns.py" --listen 198.18.99.53:53 --record lab-host.test=198.18.20.10 \
  --record lab-host.test=198.18.20.11 --record mirror.lab.test=198.18.20.80 --log "$log" --raw &
pid=$!
for _ in $(seq 50); do [[ -s $log ]] && break; sleep 0.1; done
{
  run() { echo "\$ $*"; "$@" || echo "(exit $?)"; }
  run getent ahostsv4 lab-host.test
  run getent hosts Mirror.LAB.test.
  run getent ahostsv4 controlplane.tailscale.com
  run getent ahosts LOG.TAILSCALE.IO.
  run getent hosts 198.18.20.10
  run python3 -c "import socket; print(sorted({i[4][0] for i in socket.getaddrinfo('mirror.lab.test', 80)}))"
  printf 'options use-vc\nnameserver 198.18.99.53\n' >"$work/resolv.conf"
  run getent ahostsv4 lab-host.test
  run getent ahostsv4 api.github.com
} >"$out" 2>&1
kill "$pid"
wait "$pid" || true
