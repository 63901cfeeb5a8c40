#!/usr/bin/env bash
# Records a small capture of a host's own traffic, as a user would take one: DNS queries over
# UDP (and a few over TCP) to a resolver-like server on 127.0.0.1, plus short HTTP-like TCP
# exchanges, all inside a throw-away network namespace (so nothing else on the host is captured).
# Locally sent packets carry offloaded (partial) TCP/UDP checksums, as on any Linux host.
#
#   sudo scripts/capture-host-traffic.sh scenarios/captures/dns-host.pcap [QUERIES]
#
# Needs root, ip (iproute2), tcpdump and python3. Made scenarios/captures/dns-host.pcap.
set -euo pipefail
out=$(realpath -m "${1:?usage: $0 OUT.pcap [QUERIES]}")
queries=${2:-60}
ns=ctsim-cap-$$
tmp=$(mktemp -d)
cleanup() { [ -n "${tdpid:-}" ] && kill "$tdpid" 2>/dev/null; wait 2>/dev/null; ip netns del "$ns" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
ip netns exec "$ns" tcpdump -i lo -n -U -w "$tmp/cap.pcap" 'udp port 53 or tcp port 53 or tcp port 8080' 2>"$tmp/td.err" &
tdpid=$!
for _ in $(seq 100); do grep -q 'listening on' "$tmp/td.err" 2>/dev/null && break; sleep 0.05; done
ip netns exec "$ns" python3 - "$queries" <<'PY'
import socket, struct, sys, threading, time
N = int(sys.argv[1])
def answer(q):  # a DNS response: the question echoed, one A record 192.0.2.1, TTL 300
    qid, = struct.unpack('!H', q[:2]); question = q[12:]
    return struct.pack('!HHHHHH', qid, 0x8180, 1, 1, 0, 0) + question + struct.pack('!HHHIH4s', 0xc00c, 1, 1, 300, 4, bytes([192, 0, 2, 1]))
def query(qid, name):
    qname = b''.join(bytes([len(p)]) + p.encode() for p in name.split('.')) + b'\0'
    return struct.pack('!HHHHHH', qid, 0x0100, 1, 0, 0, 0) + qname + struct.pack('!HH', 1, 1)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind(('127.0.0.1', 53))
tcp = socket.socket(); tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); tcp.bind(('127.0.0.1', 53)); tcp.listen(16)
web = socket.socket(); web.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); web.bind(('127.0.0.1', 8080)); web.listen(16)
def serve_udp():
    while True:
        q, a = udp.recvfrom(512); udp.sendto(answer(q), a)
def serve_tcp(s, dns):
    while True:
        c, _ = s.accept()
        if dns:
            n, = struct.unpack('!H', c.recv(2)); q = c.recv(n); r = answer(q); c.sendall(struct.pack('!H', len(r)) + r)
        else:
            c.recv(1024); c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello')
        c.close()
for f, a in ((serve_udp, ()), (serve_tcp, (tcp, True)), (serve_tcp, (web, False))):
    threading.Thread(target=f, args=a, daemon=True).start()
for i in range(N):
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # a fresh source port per query, as resolvers do
    c.settimeout(2); c.sendto(query(i, f'host{i % 7}.example.org'), ('127.0.0.1', 53)); c.recvfrom(512); c.close()
    if i % 10 == 0:
        c = socket.create_connection(('127.0.0.1', 53)); q = query(1000 + i, 'big.example.org')
        c.sendall(struct.pack('!H', len(q)) + q); c.recv(512); c.close()
    if i % 6 == 0:
        c = socket.create_connection(('127.0.0.1', 8080)); c.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n'); c.recv(1024); c.close()
    time.sleep(0.02)
time.sleep(0.3)
PY
sleep 0.5; kill -INT "$tdpid"; wait "$tdpid" 2>/dev/null || true; tdpid=
grep -E "captured|dropped" "$tmp/td.err" >&2
cp "$tmp/cap.pcap" "$out"
echo "$out: $(tcpdump -r "$out" -n 2>/dev/null | wc -l) packets"
