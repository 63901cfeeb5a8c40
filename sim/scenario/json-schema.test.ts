import test from 'ava';
import { SYSCTL_NAMES } from '../conntrack/sysctl.js';
import { scenarioJsonSchema } from './json-schema.js';
import { TEST_REGISTRY } from './test-registry.js';

type J = Record<string, unknown>;
const schema = scenarioJsonSchema(TEST_REGISTRY);
const prop = (s: unknown, ...keys: string[]): J => keys.reduce((o, k) => (o['properties'] as J)[k] as J, s as J);

/** Every object schema in the tree. */
function objects(node: unknown, out: J[] = []): J[] {
  if (Array.isArray(node)) node.forEach((n) => objects(n, out));
  else if (typeof node === 'object' && node !== null) {
    if ((node as J)['type'] === 'object') out.push(node as J);
    Object.values(node).forEach((n) => objects(n, out));
  }
  return out;
}

test('is valid JSON with the draft 2020-12 header', (t) => {
  t.deepEqual(JSON.parse(JSON.stringify(schema)), schema);
  t.is(schema['$schema'], 'https://json-schema.org/draft/2020-12/schema');
  t.is(schema['$id'], 'scenario.schema.json');
  t.is(typeof schema['title'], 'string');
  t.deepEqual(schema['required'], ['traffic']);
  t.deepEqual(prop(schema, '$schema')['type'], 'string');
});

test('every object forbids unknown keys', (t) => {
  const objs = objects(schema);
  // top level, kernel, sysctl, 2 generators, 2 policies, policy_params and its 2 policy entries, a route,
  // an action with its sysctl and delete; a variant with its kernel, sysctl and 2 policies
  t.is(objs.length, 19);
  for (const o of objs) t.is(o['additionalProperties'], false);
});

test('documents defaults, ranges and enums', (t) => {
  t.is(prop(schema, 'seed')['default'], 1);
  t.is(prop(schema, 'seed')['minimum'], 0);
  t.is(prop(schema, 'runs')['minimum'], 1);
  t.is(prop(schema, 'duration')['default'], '60s');
  t.deepEqual(prop(schema, 'kernel', 'hz')['enum'], [100, 250, 300, 1000]);
  t.is(prop(schema, 'kernel', 'memory')['default'], '24GiB');
  t.deepEqual(prop(schema, 'policies')['default'], ['kernel']);
  t.is(typeof prop(schema, 'kernel', 'hz')['description'], 'string');
});

test('lists the sysctl names with their ranges', (t) => {
  const sysctl = prop(schema, 'sysctl');
  t.deepEqual(Object.keys(sysctl['properties'] as J), SYSCTL_NAMES);
  t.is(prop(sysctl, 'nf_conntrack_tcp_loose')['maximum'], 1);
  t.is(prop(sysctl, 'nf_conntrack_udp_timeout')['default'], 30);
  t.is(prop(sysctl, 'nf_conntrack_max')['default'], undefined);
  const [pattern] = Object.keys(sysctl['patternProperties'] as J);
  t.regex('net.netfilter.nf_conntrack_max', new RegExp(pattern!));
  t.notRegex('net.netfilter.nf_conntrack_nope', new RegExp(pattern!));
});

test('generators and policies are discriminated variants', (t) => {
  const items = (prop(schema, 'traffic')['items'] as J)['oneOf'] as J[];
  t.deepEqual(items.map((v) => prop(v, 'kind')['const']), ['syn-flood', 'web-clients']);
  t.deepEqual(items.map((v) => prop(v, 'class')['default']), ['attack', 'legit']);
  t.deepEqual(items[0]!['required'], ['kind', 'rate']);
  const pol = (prop(schema, 'policies')['items'] as J)['anyOf'] as J[];
  t.deepEqual(pol[0], { type: 'string', enum: ['kernel', 'adaptive-timeout'] });
});
