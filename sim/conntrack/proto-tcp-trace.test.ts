/**
 * Packetdrill-style traces through tcpNew/tcpPacket and a stand-in core (proto-tcp-testkit).
 * Each step: [dir, flags, seq, ack, win, len, state after, verdict, timeout s | null (no
 * refresh), events ('P' PROTOINFO, 'A' ASSURED), options?]. Default timeouts, HZ = 250.
 */
import test from 'ava';
import { Conn, runTrace } from './proto-tcp-testkit.js';

const WS = { wscale: 7, sackPerm: true };

test('trace (docs/model.md §4.5/§4.6/§9.1): handshake, data both ways, FIN close to TIME_WAIT', (t) => {
  runTrace(t, new Conn(), [
    ['orig', 'S', 1000, 0, 65535, 0, 'SYN_SENT', 'ACCEPT', 120, 'P', WS],
    ['reply', 'SA', 5000, 1001, 65535, 0, 'SYN_RECV', 'ACCEPT', 60, 'P', WS],
    ['orig', 'A', 1001, 5001, 502, 0, 'ESTABLISHED', 'ACCEPT', 432000, 'PA'],
    ['orig', 'PA', 1001, 5001, 502, 100, 'ESTABLISHED', 'ACCEPT', 300, ''],
    ['reply', 'A', 5001, 1101, 500, 0, 'ESTABLISHED', 'ACCEPT', 432000, ''],
    ['reply', 'PA', 5001, 1101, 500, 1000, 'ESTABLISHED', 'ACCEPT', 300, ''],
    ['orig', 'A', 1101, 6001, 502, 0, 'ESTABLISHED', 'ACCEPT', 432000, ''],
    ['orig', 'FA', 1101, 6001, 502, 0, 'FIN_WAIT', 'ACCEPT', 120, 'P'],
    ['reply', 'A', 6001, 1102, 500, 0, 'CLOSE_WAIT', 'ACCEPT', 60, 'P'],
    ['reply', 'FA', 6001, 1102, 500, 0, 'LAST_ACK', 'ACCEPT', 30, 'P'],
    ['orig', 'A', 1102, 6002, 502, 0, 'TIME_WAIT', 'ACCEPT', 120, 'P'],
    ['orig', 'A', 1102, 6002, 502, 0, 'TIME_WAIT', 'ACCEPT', 120, ''],
    // A new connection on the same tuple re-opens from TIME_WAIT (CLOSE_INIT set).
    ['orig', 'S', 80000, 0, 65535, 0, 'SYN_SENT', 'REPEAT', 120, 'P'],
    ['reply', 'SA', 90000, 80001, 65535, 0, 'SYN_RECV', 'ACCEPT', 60, 'P'],
    ['orig', 'A', 80001, 90001, 65535, 0, 'ESTABLISHED', 'ACCEPT', 432000, 'PA'],
  ]);
});

test('trace (docs/model.md §4.6-7/§4.6-1): RST close, then re-open after own RST', (t) => {
  runTrace(t, new Conn(), [
    ['orig', 'S', 1000, 0, 65535, 0, 'SYN_SENT', 'ACCEPT', 120, 'P'],
    ['reply', 'SA', 5000, 1001, 65535, 0, 'SYN_RECV', 'ACCEPT', 60, 'P'],
    ['orig', 'A', 1001, 5001, 65535, 0, 'ESTABLISHED', 'ACCEPT', 432000, 'PA'],
    ['orig', 'PA', 1001, 5001, 65535, 10, 'ESTABLISHED', 'ACCEPT', 300, ''],
    ['orig', 'RA', 1011, 5001, 0, 0, 'CLOSE', 'ACCEPT', 10, 'P'],
    ['reply', 'A', 5001, 1011, 65535, 0, 'CLOSE', 'ACCEPT', 10, ''],
    ['reply', 'R', 5001, 0, 0, 0, 'CLOSE', 'ACCEPT', 10, ''],
    ['reply', 'R', 0x12345678, 0, 0, 0, 'CLOSE', 'ACCEPT', 10, ''],
    ['orig', 'R', 1011, 0, 0, 0, 'CLOSE', 'ACCEPT', 10, ''],
    ['orig', 'S', 3000, 0, 65535, 0, 'SYN_SENT', 'REPEAT', 120, 'P'],
    ['reply', 'SA', 8000, 3001, 65535, 0, 'SYN_RECV', 'ACCEPT', 60, 'P'],
    ['orig', 'A', 3001, 8001, 65535, 0, 'ESTABLISHED', 'ACCEPT', 432000, 'PA'],
  ]);
});

test('trace (docs/model.md §4.6-1/§4.6-2): peer RST, ignored re-open SYN, SYN-ACK resync', (t) => {
  runTrace(t, new Conn(), [
    ['orig', 'S', 1000, 0, 65535, 0, 'SYN_SENT', 'ACCEPT', 120, 'P'],
    ['reply', 'SA', 5000, 1001, 65535, 0, 'SYN_RECV', 'ACCEPT', 60, 'P'],
    ['orig', 'A', 1001, 5001, 65535, 0, 'ESTABLISHED', 'ACCEPT', 432000, 'PA'],
    ['reply', 'RA', 5001, 1001, 0, 0, 'CLOSE', 'ACCEPT', 10, 'P'],
    ['orig', 'A', 1001, 5001, 65535, 0, 'CLOSE', 'ACCEPT', 10, ''],
    ['orig', 'S', 1001, 0, 65535, 0, 'CLOSE', 'ACCEPT', null, ''],
    ['reply', 'SA', 7000, 1002, 65535, 0, 'SYN_RECV', 'ACCEPT', 60, 'P'],
    ['orig', 'A', 1002, 7001, 65535, 0, 'ESTABLISHED', 'ACCEPT', 432000, 'P'],
  ]);
});

test('trace (docs/model.md §4.6-12): connection refused — RST before any reply deletes the entry', (t) => {
  runTrace(t, new Conn(), [
    ['orig', 'S', 1000, 0, 65535, 0, 'SYN_SENT', 'ACCEPT', 120, 'P'],
    ['reply', 'RA', 0, 1001, 0, 0, '-', 'ACCEPT', null, 'P'],
    ['orig', 'S', 1000, 0, 65535, 0, 'SYN_SENT', 'ACCEPT', 120, 'P'],
  ]);
});

test('trace (docs/model.md §4.6-2/§4.6-7/§4.6-12): half-open — SYN retransmits, server ACK ignored, client RST', (t) => {
  runTrace(t, new Conn(), [
    ['orig', 'S', 1000, 0, 65535, 0, 'SYN_SENT', 'ACCEPT', 120, 'P'],
    ['orig', 'S', 1000, 0, 65535, 0, 'SYN_SENT', 'ACCEPT', null, ''],
    ['orig', 'S', 1000, 0, 65535, 0, 'SYN_SENT', 'ACCEPT', null, ''],
    // The server still has an old connection on this tuple and answers with a (challenge) ACK.
    ['reply', 'A', 9000, 4242, 65535, 0, 'SYN_SENT', 'ACCEPT', null, ''],
    ['reply', 'A', 9000, 4242, 65535, 0, 'SYN_SENT', 'ACCEPT', null, ''],
    // The client resets it with seq = the ACK's ack: window check skipped.
    ['orig', 'R', 4242, 0, 0, 0, 'CLOSE', 'ACCEPT', 10, 'P'],
    // The client's next SYN re-opens (own RST last).
    ['orig', 'S', 1000, 0, 65535, 0, 'SYN_SENT', 'REPEAT', 120, 'P'],
    ['reply', 'SA', 5000, 1001, 65535, 0, 'SYN_RECV', 'ACCEPT', 60, 'P'],
    ['orig', 'A', 1001, 5001, 65535, 0, 'ESTABLISHED', 'ACCEPT', 432000, 'PA'],
  ]);
});

test('trace (docs/model.md §4.6-5/6): simultaneous open SYN_SENT2 → SYN_RECV → ESTABLISHED', (t) => {
  runTrace(t, new Conn(), [
    ['orig', 'S', 1000, 0, 65535, 0, 'SYN_SENT', 'ACCEPT', 120, 'P', WS],
    // SYN class while SYN_SENT and no reply processed yet: state changes but no refresh.
    ['reply', 'S', 5000, 0, 65535, 0, 'SYN_SENT2', 'ACCEPT', null, 'P', WS],
    ['reply', 'S', 5000, 0, 65535, 0, 'SYN_SENT2', 'ACCEPT', 120, ''],
    ['orig', 'SA', 1000, 5001, 65535, 0, 'SYN_RECV', 'ACCEPT', 60, 'P', WS],
    ['reply', 'SA', 5000, 1001, 65535, 0, 'SYN_RECV', 'ACCEPT', null, '', WS],
    ['reply', 'A', 5001, 1001, 512, 0, 'ESTABLISHED', 'ACCEPT', 432000, 'PA'],
    ['orig', 'A', 1001, 5001, 512, 0, 'ESTABLISHED', 'ACCEPT', 432000, ''],
  ]);
});

test('trace (docs/model.md §4.4/§4.6-12): loose pickup of a running connection', (t) => {
  runTrace(t, new Conn(), [
    ['orig', 'PA', 700000, 300000, 1000, 100, 'ESTABLISHED', 'ACCEPT', 300, 'P'],
    ['reply', 'A', 300000, 700100, 1000, 0, 'ESTABLISHED', 'ACCEPT', 300, ''],
    ['orig', 'A', 700100, 300000, 1000, 0, 'ESTABLISHED', 'ACCEPT', 432000, 'A'],
    ['orig', 'FA', 700100, 300000, 1000, 0, 'FIN_WAIT', 'ACCEPT', 120, 'P'],
  ]);
});

test('trace (docs/model.md §4.10): tcp_loose=0 — mid-stream packets never create an entry', (t) => {
  runTrace(t, new Conn({ tcp_loose: 0 }), [
    ['orig', 'PA', 700000, 300000, 1000, 100, '-', 'INVALID', null, ''],
    ['reply', 'A', 300000, 700100, 1000, 0, '-', 'INVALID', null, ''],
    ['orig', 'FA', 700100, 300000, 1000, 0, '-', 'INVALID', null, ''],
  ]);
});
