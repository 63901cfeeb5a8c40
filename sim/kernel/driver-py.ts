/**
 * The traffic driver: a small Python 3 program (standard library only) that the harness writes
 * to a temporary file and runs inside the firewall namespace. It opens its sockets in the
 * client and server namespaces with setns(2) (a socket stays in the namespace it was created
 * in), returns to the firewall namespace, then plays the plan: crafted IPv4 packets through
 * raw IP sockets (IP_HDRINCL; bytes built by sim/capture/encode.ts), bursts of them with a
 * fixed gap, and real TCP connections between real sockets. Meanwhile it samples the firewall's
 * `nf_conntrack_count` every `sampleMs`. Every loop is bounded by the plan's `duration`.
 * Output: JSON lines on stdout — {"t0": epoch}, {"step": i, "t": epoch}, {"s": [epoch, count]},
 * {"end": epoch} or {"error": text}.
 */
export const DRIVER_PY = String.raw`
import ctypes, json, os, socket, sys, threading, time

CLONE_NEWNET = 0x40000000
COUNT = '/proc/sys/net/netfilter/nf_conntrack_count'
libc = ctypes.CDLL(None, use_errno=True)


def setns_fd(fd):
    if libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, 'setns: ' + os.strerror(e))


def enter(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        setns_fd(fd)
    finally:
        os.close(fd)


def out(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


def main():
    plan = json.load(open(sys.argv[1]))
    steps = plan['steps']
    for st in steps:
        for a in [st.get('dst', '')]:
            if a and not a.startswith('10.200.'):
                raise ValueError('refusing destination ' + a)
    home = os.open('/proc/self/ns/net', os.O_RDONLY)
    raw, listeners, clients = {}, {}, {}
    for side in ('c', 's'):
        enter(plan['ns'][side])
        raw[side] = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        for i, st in enumerate(steps):
            if st['op'] != 'tcp':
                continue
            if side == 's':
                ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                ls.bind((plan['server'], st['port']))
                ls.listen(8)
                ls.settimeout(10)
                listeners[i] = ls
            else:
                cs = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                cs.settimeout(10)
                clients[i] = cs
    setns_fd(home)
    errors = []
    threads = []

    def tcp_server(i, st):
        try:
            conn, _ = listeners[i].accept()
            conn.settimeout(10)
            got = 0
            while got < st['request']:
                b = conn.recv(65536)
                if not b:
                    break
                got += len(b)
            conn.sendall(b'r' * st['response'])
            time.sleep(st['serverClose'])
            conn.close()
        except Exception as e:
            errors.append('server %d: %r' % (i, e))

    def tcp_client(i, st):
        try:
            cs = clients[i]
            cs.connect((plan['server'], st['port']))
            cs.sendall(b'q' * st['request'])
            got = 0
            while got < st['response']:
                b = cs.recv(65536)
                if not b:
                    break
                got += len(b)
            time.sleep(st['clientClose'])
            cs.close()
        except Exception as e:
            errors.append('client %d: %r' % (i, e))

    def run_step(i, st):
        op = st['op']
        if op == 'raw':
            raw[st['side']].sendto(bytes.fromhex(st['hex']), (st['dst'], 0))
        elif op == 'burst':
            gap = st['gapUs'] / 1e6
            s = raw[st['side']]
            t = time.perf_counter()
            for h in st['hex']:
                while time.perf_counter() < t:
                    pass
                s.sendto(bytes.fromhex(h), (st['dst'], 0))
                t += gap
        elif op == 'tcp':
            for fn in (tcp_server, tcp_client):
                th = threading.Thread(target=fn, args=(i, st), daemon=True)
                th.start()
                threads.append(th)
        else:
            raise ValueError('unknown op ' + op)

    order = sorted(range(len(steps)), key=lambda i: steps[i]['at'])
    lead = 0.3
    t0m = time.monotonic() + lead
    out({'t0': time.time() + lead})
    end = float(plan['duration'])
    until = plan.get('until')
    dt = plan['sampleMs'] / 1000.0
    next_sample = 0.0
    k = 0
    while True:
        now = time.monotonic() - t0m
        if now >= end:
            break
        nxt = min(steps[order[k]]['at'] if k < len(order) else end, next_sample, end)
        if nxt > now:
            time.sleep(min(nxt - now, 0.5))
            continue
        if k < len(order) and steps[order[k]]['at'] <= now:
            i = order[k]
            k += 1
            out({'step': i, 't': time.time()})
            run_step(i, steps[i])
            continue
        with open(COUNT) as f:
            c = int(f.read())
        out({'s': [time.time(), c]})
        next_sample += dt
        if next_sample < now:
            next_sample = now + dt
        if until and now >= until['after'] and c <= until['countAtMost']:
            end = min(end, now + until['grace'])
    for th in threads:
        th.join(15)
    with open(COUNT) as f:
        out({'s': [time.time(), int(f.read())]})
    for e in errors:
        out({'error': e})
    out({'end': time.time()})
    return 1 if errors else 0


try:
    sys.exit(main())
except Exception as e:
    out({'error': repr(e)})
    sys.exit(1)
`;
