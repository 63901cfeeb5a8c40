/**
 * Capture fuzzer (issue 17): a few hundred seeded mutations of valid pcap and pcapng files
 * (bit flips, overwritten bytes, truncation, duplicated and deleted ranges, corrupted length
 * fields) replayed through the replay command's entry: each ends in a result (exit 0) or bad
 * input (an InputError: exit 2), never another exception (a crash, exit 1), within a time bound.
 * A few go through the whole CLI, asserting exit 0 or 2 and no stack trace.
 */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../cli.js';
import { runReplay } from '../cli/replay-command.js';
import { InputError } from '../io/errors.js';
import { encodePacket, type PacketSpec } from './encode.js';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from './linktype.js';
import { writePcap, writePcapng } from './pcap-write.js';

/** xorshift32: the fuzzer's own deterministic stream (not the simulator's substreams). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 2 ** 32; };
}

function validCaptures(): { name: string; bytes: Uint8Array }[] {
  const specs: PacketSpec[] = [];
  for (let i = 0; i < 12; i++) {
    specs.push({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6, sport: 40000 + i, dport: 80, tcp: { flags: 0x02, seq: 1000 * i, win: 64240 } });
    specs.push({ src: '10.0.0.2', dst: '10.0.0.1', proto: 6, sport: 80, dport: 40000 + i, tcp: { flags: 0x12, seq: 5000 * i, ack: 1000 * i + 1, win: 64240 } });
    specs.push({ src: '10.0.0.1', dst: '10.0.0.3', proto: 17, sport: 5000 + i, dport: 53, udp: {}, payloadLen: 20 });
    specs.push({ src: '10.0.0.1', dst: '10.0.0.4', icmp: { type: 8, id: i, seq: 1 }, payloadLen: 8 });
  }
  const raw = specs.map((s, i) => ({ tsUs: 1_700_000_000_000_000 + i * 10_000, data: encodePacket(s) }));
  const eth = raw.map((f) => {
    const d = new Uint8Array(14 + f.data.length);
    d.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
    d.set(f.data, 14);
    return { tsUs: f.tsUs, data: d };
  });
  return [
    { name: 'raw.pcap', bytes: writePcap(raw, LINKTYPE_RAW) },
    { name: 'eth.pcap', bytes: writePcap(eth, LINKTYPE_ETHERNET) },
    { name: 'raw.pcapng', bytes: writePcapng(raw, LINKTYPE_RAW) },
    { name: 'eth-be.pcapng', bytes: writePcapng(eth, LINKTYPE_ETHERNET, { bigEndian: true }) },
  ];
}

function mutate(src: Uint8Array, r: () => number): Uint8Array {
  let b = new Uint8Array(src);
  const ops = 1 + Math.floor(r() * 4);
  for (let k = 0; k < ops; k++) {
    const at = Math.floor(r() * b.length);
    switch (Math.floor(r() * 7)) {
      case 0: b[at] = b[at]! ^ (1 << Math.floor(r() * 8)); break; // bit flip
      case 1: b[at] = Math.floor(r() * 256); break; // byte overwrite
      case 2: b = b.slice(0, at); break; // truncation
      case 3: { const n = Math.floor(r() * 64); const c = new Uint8Array(b.length + n); c.set(b.subarray(0, at)); c.set(b.subarray(at, at + n), at); c.set(b.subarray(at), at + Math.min(n, b.length - at)); b = c; break; } // duplicate a range
      case 4: { const n = Math.floor(r() * 64); b = new Uint8Array([...b.subarray(0, at), ...b.subarray(at + n)]); break; } // delete a range
      case 5: { // a length-like field (4 aligned bytes) set to an extreme
        const a = at & ~3;
        const v = [0, 0xffffffff, 0x7fffffff, 0x80000000, 1, 0x10000][Math.floor(r() * 6)]!;
        if (a + 4 <= b.length) new DataView(b.buffer, b.byteOffset).setUint32(a, v, r() < 0.5);
        break;
      }
      default: for (let i = at; i < Math.min(b.length, at + 16); i++) b[i] = 0xff; // a run of 0xff
    }
  }
  return b;
}

const MUTATIONS_PER_FILE = 100; // 4 files: 400 replays
const BOUND_MS = 5000; // per replay; a damaged capture must fail fast, not simulate for minutes

test('fuzzed pcap/pcapng: every mutation replays (exit 0) or is bad input (exit 2), never a crash, each within the bound', (t) => {
  const d = mkdtempSync(join(tmpdir(), 'ctsim-fuzz-'));
  let ok = 0, bad = 0, slowest = 0;
  for (const [fi, cap] of validCaptures().entries()) {
    const r = rng(0x5eed + fi);
    for (let m = 0; m < MUTATIONS_PER_FILE; m++) {
      const bytes = mutate(cap.bytes, r);
      const f = join(d, `${m}-${cap.name}`);
      writeFileSync(f, bytes);
      const t0 = performance.now();
      try {
        runReplay(f, { idle: '1' });
        ok++;
      } catch (e) {
        if (!(e instanceof InputError)) {
          t.fail(`${cap.name} mutation ${m} (seed ${0x5eed + fi}): ${(e as Error).stack}`);
          return;
        }
        t.notRegex(e.message, /\n\s+at /);
        bad++;
      }
      const ms = performance.now() - t0;
      slowest = Math.max(slowest, ms);
      t.true(ms < BOUND_MS, `${cap.name} mutation ${m} took ${ms.toFixed(0)} ms`);
    }
  }
  t.is(ok + bad, 4 * MUTATIONS_PER_FILE);
  t.true(ok > 0 && bad > 0, `both outcomes occur (ok ${ok}, bad input ${bad})`);
  t.log(`ok ${ok}, bad input ${bad}, slowest ${slowest.toFixed(0)} ms`);
});

test.serial('fuzzed captures through the whole CLI: exit 0 or 2, one-line messages, no stack trace', async (t) => {
  const d = mkdtempSync(join(tmpdir(), 'ctsim-fuzz-cli-'));
  const caps = validCaptures();
  const r = rng(0xc11);
  for (let m = 0; m < 12; m++) {
    const cap = caps[m % caps.length]!;
    const f = join(d, `${m}-${cap.name}`);
    writeFileSync(f, mutate(cap.bytes, r));
    let err = '';
    const ew = process.stderr.write.bind(process.stderr), ow = process.stdout.write.bind(process.stdout);
    process.stderr.write = ((s: string) => { err += s; return true; }) as typeof process.stderr.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    let code: number;
    try { code = await main(['replay', f, '--json']); } finally { process.stderr.write = ew; process.stdout.write = ow; }
    t.true(code === 0 || code === 2, `${f}: exit ${code}: ${err}`);
    t.notRegex(err, /\n\s+at /);
  }
});
