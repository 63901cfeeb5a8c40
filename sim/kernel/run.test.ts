import test from 'ava';
import { EXIT_OK, EXIT_SKIP, InputError } from '../io/errors.js';
import type { Exec } from './exec.js';
import type { HostProbe } from './preflight.js';
import { runKernelDiff, type KernelDiffDeps } from './run.js';

const ALL_TOOLS = ['ip', 'nft', 'conntrack', 'tcpdump', 'python3'];

function fakeDeps(probe: Partial<HostProbe>): KernelDiffDeps & { out: string[]; err: string[]; calls: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const calls: string[] = [];
  const exec: Exec = (cmd, args) => { calls.push([cmd, ...args].join(' ')); return { status: 0, stdout: '', stderr: '' }; };
  return {
    out, err, calls,
    probe: {
      platform: 'linux', uid: 0, which: (t) => (ALL_TOOLS.includes(t) ? `/usr/sbin/${t}` : undefined),
      exists: () => true, inInitNetns: () => true, ...probe,
    },
    exec,
    sysctlFs: { read: () => { throw new Error('must not read sysctls'); }, write: () => { throw new Error('must not write sysctls'); } },
    detectHz: async () => { calls.push('detectHz'); return undefined; },
    release: '6.18.0', ctsimVersion: 'test',
    stdout: (s) => out.push(s), stderr: (s) => err.push(s),
  };
}

test('not root: exit 77 with the reason, nothing run', async (t) => {
  const d = fakeDeps({ uid: 1000 });
  t.is(await runKernelDiff({ cases: [] }, d), EXIT_SKIP);
  t.regex(d.err.join(''), /skipped \(exit 77\)[\s\S]*needs root \(running as uid 1000\)/);
  t.deepEqual(d.calls, []);
});

test('a tool missing: exit 77 naming the tool and the Debian package', async (t) => {
  const d = fakeDeps({ which: (tool) => (tool === 'nft' || tool === 'conntrack' ? undefined : `/usr/bin/${tool}`) });
  t.is(await runKernelDiff({ cases: ['tcp-real'] }, d), EXIT_SKIP);
  t.regex(d.err.join(''), /missing tools: nft, conntrack \(apt-get install -y nftables conntrack\)/);
  t.deepEqual(d.calls, []);
});

test('not Linux, or no conntrack in the kernel: exit 77', async (t) => {
  const mac = fakeDeps({ platform: 'darwin' });
  t.is(await runKernelDiff({ cases: [] }, mac), EXIT_SKIP);
  t.regex(mac.err.join(''), /needs Linux \(this is darwin\)/);
  const noCt = fakeDeps({ exists: (p) => !p.includes('nf_conntrack_count') });
  t.is(await runKernelDiff({ cases: [] }, noCt), EXIT_SKIP);
  t.regex(noCt.err.join(''), /has no conntrack/);
});

test('HZ undeterminable: exit 77', async (t) => {
  const d = fakeDeps({});
  t.is(await runKernelDiff({ cases: [] }, d), EXIT_SKIP);
  t.regex(d.err.join(''), /cannot determine the kernel's HZ/);
});

test('an unknown case is bad input (exit 2), checked before the host', async (t) => {
  const d = fakeDeps({ uid: 1000 });
  await t.throwsAsync(runKernelDiff({ cases: ['nope'] }, d), { instanceOf: InputError, message: /unknown case "nope"/ });
});

test('--list prints the cases without touching the host', async (t) => {
  const d = fakeDeps({ uid: 1000 });
  t.is(await runKernelDiff({ cases: ['overflow'], list: true }, d), EXIT_OK);
  t.regex(d.out.join(''), /overflow-default-buckets[\s\S]*overflow-few-buckets/);
  t.notRegex(d.out.join(''), /tcp-real/);
});
