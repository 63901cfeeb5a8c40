/**
 * A small generator/policy registry for the scenario tests (the real ones live with the traffic
 * generators and in policies/).
 */
import type { ScenarioRegistry } from './scenario.js';
import { duration, num, obj, str } from './schema-dsl.js';

/** Two generators (`syn-flood`, `web-clients`) and two policies (`kernel`, `adaptive-timeout`). */
export const TEST_REGISTRY: ScenarioRegistry = {
  generators: {
    'syn-flood': {
      schema: obj({ rate: num({ exclusiveMin: 0, doc: 'SYNs per second' }) }),
      defaultClass: 'attack',
      summary: 'spoofed SYNs that never complete',
    },
    'web-clients': {
      schema: obj({
        rate: num({ exclusiveMin: 0, default: 100, doc: 'new connections per second' }),
        think_time: duration({ default: '5s', doc: 'pause between requests' }),
        proto: str({ enum: ['tcp', 'udp'], default: 'tcp' }),
      }),
      defaultClass: 'legit',
      summary: 'well-behaved HTTP clients',
    },
  },
  policies: {
    kernel: { schema: obj({}), summary: 'the kernel early_drop baseline' },
    'adaptive-timeout': {
      schema: obj({ start: num({ min: 0, max: 1, default: 0.6 }), end: num({ exclusiveMin: 0, default: 1.2 }) }),
      summary: 'shrink timeouts as the table fills',
    },
  },
};
