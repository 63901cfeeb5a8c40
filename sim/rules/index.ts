/**
 * The rule language and the interface model (docs/rules.md): `loadRuleset(text, file, routes)`
 * parses and compiles an nft-subset ruleset; `buildRoutes(entries)` builds the route table that
 * gives packets their interfaces. The contract types are in types.ts.
 */
export * from './types.js';
export { loadRuleset, LoadedRuleset, RulesetError, type RulesetOrigin } from './ruleset.js';
export { buildRoutes, parseRouteArg, RouteTable, type RouteEntry, type RouteIssue } from './routes.js';
export { registerStatement, registerTableObject } from './registry.js';
export { RulesetPath, setupRules } from './path.js';
// the stateful statements (limit, ct count, dynamic sets, ct timeout) register themselves
import './stateful.js';
export { statefulSummary } from './stateful.js';
// statements registered through the extension point (docs/rules.md §8)
import '../synproxy/rule.js';
