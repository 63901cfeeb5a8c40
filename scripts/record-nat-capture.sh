#!/usr/bin/env bash
# Records docs/captures/nat-gw-inside.pcap: a NAT gateway (network namespaces, nftables
# masquerade from docs/captures/nat-gw.nft) captured on its inside interface f1, both
# directions. Clients 10.98.0.2 and 10.98.0.3 talk to 203.0.113.10 (TCP 80, UDP 53) and
# 203.0.113.11 (UDP 53); both clients use UDP source port 40000 towards the same server, so
# the second one's mapping needs the port search. Needs root, ip, nft, tcpdump, python3.
# Usage: sudo scripts/record-nat-capture.sh [out.pcap]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/docs/captures/nat-gw-inside.pcap}
p=ctsimrec$$
c=${p}c g=${p}g s=${p}s
cleanup() {
  for n in $c $g $s; do for pid in $(ip netns pids "$n" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done; done
  sleep 0.2
  for n in $c $g $s; do ip netns del "$n" 2>/dev/null || true; done
}
trap cleanup EXIT
for n in $c $g $s; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip link add f1c netns "$c" type veth peer name f1 netns "$g"
ip link add wan0 netns "$g" type veth peer name eth0s netns "$s"
ip -n "$c" addr add 10.98.0.2/24 dev f1c
ip -n "$c" addr add 10.98.0.3/24 dev f1c
ip -n "$c" link set f1c up
ip -n "$c" route add default via 10.98.0.1
ip -n "$g" addr add 10.98.0.1/24 dev f1
ip -n "$g" addr add 203.0.113.1/24 dev wan0
ip -n "$g" link set f1 up
ip -n "$g" link set wan0 up
ip netns exec "$g" sysctl -qw net.ipv4.ip_forward=1
ip -n "$s" addr add 203.0.113.10/24 dev eth0s
ip -n "$s" addr add 203.0.113.11/24 dev eth0s
ip -n "$s" link set eth0s up
ip netns exec "$g" nft -f "$root/docs/captures/nat-gw.nft"
ip netns exec "$s" python3 -c '
import socket, threading
def udp(a):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind((a, 53))
    while True:
        d, peer = u.recvfrom(2048); u.sendto(d, peer)
def tcp():
    t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind(("203.0.113.10", 80)); t.listen(16)
    while True:
        k, _ = t.accept(); k.recv(1024); k.sendall(b"HTTP/1.0 200 OK\r\n\r\nhello\n"); k.close()
for a in ("203.0.113.10", "203.0.113.11"): threading.Thread(target=udp, args=(a,), daemon=True).start()
tcp()' >/dev/null 2>&1 &
sleep 0.5
ip netns exec "$g" tcpdump -Z root -q -i f1 -w "$out.tmp" -U 'ip' >/dev/null 2>&1 &
sleep 2
ip netns exec "$c" python3 -c '
import socket, time
def query(src, sport, dst):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind((src, sport)); u.settimeout(1)
    u.sendto(b"query", (dst, 53)); u.recvfrom(2048); u.close()
def get(src):
    t = socket.create_connection(("203.0.113.10", 80), timeout=2, source_address=(src, 0))
    t.sendall(b"GET / HTTP/1.0\r\n\r\n")
    while t.recv(1024): pass
    t.close()
query("10.98.0.2", 40000, "203.0.113.10")
time.sleep(0.05)
query("10.98.0.3", 40000, "203.0.113.10")
time.sleep(0.05)
query("10.98.0.2", 40000, "203.0.113.11")
for i in range(3):
    get("10.98.0.2" if i % 2 == 0 else "10.98.0.3"); time.sleep(0.05)
'
sleep 1
# the gateway's own table at the end, for comparison with ctsim replay --list
ip netns exec "$g" conntrack -L 2>/dev/null | sort > "${out%.pcap}.conntrack-L.txt"
for pid in $(ip netns pids "$g"); do kill "$pid" 2>/dev/null || true; done
sleep 0.5
mv "$out.tmp" "$out"
echo "wrote $out"
