/**
 * labs/leaf-spine: two FRR spines, two FRR leaves, four nodebgp nodes. Beyond the steady state (sessions,
 * ECMP over both spines, pod pings) the failures a data centre sees, each with its convergence measured
 * from outside: every node's kernel table polled every 50 ms from the fault until the expected end state
 * holds, the figure being fault → last table change.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasRoute, waitReady } from '../../../labs/runner/checks.js';
import { measureConvergence, type Convergence, type Tables } from '../../../labs/runner/converge.js';
import {
  continuousPing,
  removeNode,
  signalFrr,
  startFrrAgain,
  startNodebgpAgain,
  stopFrr,
  stopNodebgp,
} from '../../../labs/runner/faults.js';
import { nodeState, type LabState } from '../../../labs/runner/state.js';
import { expectAllPings, expectEstablished, expectKernel, gateways, labDown, labUp } from './support.js';

const HOLD_MS = 9000;
const NODES = ['n1', 'n2', 'n3', 'n4'];
const FRR = ['spine1', 'spine2', 'leaf1', 'leaf2'];
const cidr = (node: string) => `10.244.${node.slice(1)}.0/24`;
const nodeGw: Record<string, string> = { n1: '10.78.1.0', n2: '10.78.1.2', n3: '10.78.2.0', n4: '10.78.2.2' };
const figures: string[] = [];

function report(what: string, c: Convergence): void {
  const per = Object.entries(c.perNode)
    .map(([n, ms]) => `${n}=${ms}`)
    .join(' ');
  const line = `${what}: ${c.converged ? '' : 'NOT '}converged in ${c.ms} ms (${c.polls} polls; per node ms: ${per})`;
  figures.push(line);
  console.log(`[labs] leaf-spine ${line}`);
}

/** The prefix is absent from every table but those of `except`. */
const absent =
  (prefixes: string[], except: string[] = []) =>
  (t: Tables): boolean =>
    [...t].every(([n, routes]) => except.includes(n) || prefixes.every((p) => !hasRoute(routes, p)));

/** Each (node, prefix) has a route whose next hops are exactly `gws`. */
const routesAre =
  (want: [string, string, string[]][]) =>
  (t: Tables): boolean =>
    want.every(([n, p, gws]) => {
      const r = t.get(n)?.find((x) => x.dst === p);
      return r !== undefined && gateways(r).join() === [...gws].sort().join();
    });

/**
 * Records every main-table route change (`ip monitor route`) on the given nodes until `stop()`, which returns
 * the destinations that changed per node — to show that a fault moved only the routes it should.
 */
function recordRouteChanges(state: LabState, nodes: string[]): { stop(): Record<string, string[]> } {
  const changed: Record<string, Set<string>> = {};
  const children: ChildProcess[] = nodes.map((name) => {
    const ns = state.nodes.find((n) => n.name === name)!.ns;
    const seen = (changed[name] = new Set<string>());
    const child = spawn('ip', ['-n', ns, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let buf = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      const lines = (buf + chunk.toString('utf8')).split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) {
        // Multipath routes continue on indented `nexthop via …` lines: part of the route above, not a change.
        if (line.trim() === '' || /^\s/.test(line) || line.includes(' table local ')) continue;
        seen.add(line.replace(/^Deleted /, '').split(' ')[0]!);
      }
    });
    return child;
  });
  return {
    stop() {
      for (const c of children) c.kill('SIGKILL');
      return Object.fromEntries(Object.entries(changed).map(([n, set]) => [n, [...set].sort()]));
    },
  };
}

const ECMP: [string, string, string[]][] = [
  ['leaf1', cidr('n3'), ['10.78.0.0', '10.78.0.2']],
  ['leaf1', cidr('n4'), ['10.78.0.0', '10.78.0.2']],
  ['leaf2', cidr('n1'), ['10.78.0.4', '10.78.0.6']],
  ['leaf2', cidr('n2'), ['10.78.0.4', '10.78.0.6']],
];

describe('labs/leaf-spine', () => {
  let state: LabState;
  beforeAll(async () => {
    state = await labUp('leaf-spine');
  });
  afterAll(async () => {
    if (figures.length > 0) console.log(`[labs] leaf-spine convergence figures:\n  ${figures.join('\n  ')}`);
    if (state) await labDown(state);
  });

  it('every session is Established', async () => {
    await expectEstablished(state, {
      spine1: ['10.78.0.1', '10.78.0.5'],
      spine2: ['10.78.0.3', '10.78.0.7'],
      leaf1: ['10.78.0.0', '10.78.0.2', '10.78.1.1', '10.78.1.3'],
      leaf2: ['10.78.0.4', '10.78.0.6', '10.78.2.1', '10.78.2.3'],
      n1: ['10.78.1.0'],
      n2: ['10.78.1.2'],
      n3: ['10.78.2.0'],
      n4: ['10.78.2.2'],
    });
  });

  it('nodes route every other pod CIDR via their leaf; leaves spread them over both spines', async () => {
    const expected: Record<string, Record<string, string[]>> = {};
    for (const n of NODES)
      expected[n] = Object.fromEntries(NODES.filter((m) => m !== n).map((m) => [cidr(m), [nodeGw[n]]]));
    for (const [n, p, gws] of ECMP) expected[n] = { ...expected[n], [p]: gws };
    await expectKernel(state, expected);
  });

  it('every pod reaches a pod on every other node', async () => {
    await expectAllPings(state, 1);
  });

  it('a spine stops: traffic keeps flowing over the other spine', async () => {
    const ping = continuousPing(nodeState(state, 'n1').podNamespaces[0], '10.244.3.10', 80);
    await new Promise((r) => setTimeout(r, 500));
    const c = await measureConvergence(
      state,
      () => stopFrr(state, 'spine1', 'SIGTERM'),
      routesAre([
        ['leaf1', cidr('n3'), ['10.78.0.2']],
        ['leaf1', cidr('n4'), ['10.78.0.2']],
        ['leaf2', cidr('n1'), ['10.78.0.6']],
        ['leaf2', cidr('n2'), ['10.78.0.6']],
      ]),
      { timeoutMs: HOLD_MS + 3000 },
    );
    report('spine1 stopped (SIGTERM), leaves down to one spine', c);
    const p = await ping;
    figures.push(
      `spine1 stopped: continuous ping n1 pod -> n3 pod: ${p.received}/${p.sent} received (50 ms apart)`,
    );
    expect(c.converged).toBe(true);
    expect(p.sent - p.received).toBeLessThanOrEqual(4);
    await expectAllPings(state, 1);
  });

  it('the spine comes back: ECMP over both spines again', async () => {
    const c = await measureConvergence(state, () => startFrrAgain(state, 'spine1'), routesAre(ECMP), {
      timeoutMs: 20_000,
    });
    report('spine1 restarted, ECMP restored', c);
    expect(c.converged).toBe(true);
  });

  it("a leaf's FRR crashes: its nodes' routes are withdrawn everywhere within the hold time", async () => {
    const gone = absent([cidr('n1'), cidr('n2')], ['leaf1', 'n1', 'n2']);
    const cut = (t: Tables): boolean =>
      ['n1', 'n2'].every((n) =>
        NODES.filter((m) => m !== n).every((m) => !hasRoute(t.get(n) ?? [], cidr(m))),
      );
    const c = await measureConvergence(
      state,
      () => stopFrr(state, 'leaf1', 'SIGKILL'),
      (t) => gone(t) && cut(t),
      {
        timeoutMs: HOLD_MS + 5000,
      },
    );
    report('leaf1 FRR killed (SIGKILL), n1/n2 routes withdrawn everywhere', c);
    expect(c.converged).toBe(true);
    expect(c.ms).toBeLessThan(HOLD_MS + 1000);
    const back = Date.now();
    await startFrrAgain(state, 'leaf1');
    const r = await waitReady(state, 30_000, 50);
    figures.push(`leaf1 FRR restarted: lab ready again in ${Date.now() - back} ms`);
    expect(r.missing).toEqual([]);
  });

  it("a leaf's bgpd freezes: its nodes' routes are withdrawn everywhere when the hold time expires", async () => {
    const gone = absent([cidr('n3'), cidr('n4')], ['leaf2', 'n3', 'n4']);
    const cut = (t: Tables): boolean =>
      ['n3', 'n4'].every((n) =>
        NODES.filter((m) => m !== n).every((m) => !hasRoute(t.get(n) ?? [], cidr(m))),
      );
    const c = await measureConvergence(
      state,
      async () => signalFrr(state, 'leaf2', 'SIGSTOP'),
      (t) => gone(t) && cut(t),
      { timeoutMs: HOLD_MS + 5000 },
    );
    report('leaf2 bgpd frozen (SIGSTOP), n3/n4 routes withdrawn everywhere on hold timer expiry', c);
    signalFrr(state, 'leaf2', 'SIGCONT');
    expect(c.converged).toBe(true);
    expect(c.ms).toBeGreaterThan(3000 / 2);
    expect(c.ms).toBeLessThan(HOLD_MS + 1000);
    const back = Date.now();
    const r = await waitReady(state, 40_000, 50);
    figures.push(`leaf2 bgpd thawed (SIGCONT): lab ready again in ${Date.now() - back} ms`);
    expect(r.missing).toEqual([]);
  });

  // Graceful restart (gracefulRestart.restartTime in every node's nodebgp.yaml; FRR helps by default): a
  // restart keeps the node's kernel routes, the leaf keeps its pod CIDR as stale until the new process has
  // sent its table, so no kernel anywhere sees a route change and no packet is lost.
  it.each([
    ['n4', 'n1'],
    ['n3', 'n2'],
    ['n2', 'n3'],
    ['n1', 'n4'],
  ])(
    "%s's nodebgp restarts (SIGTERM, start): its routes stay everywhere, no route changes, no packet lost",
    async (node, far) => {
      const recorder = recordRouteChanges(state, [...FRR, ...NODES]);
      await new Promise((r) => setTimeout(r, 200)); // the monitors subscribe
      // From a pod on the restarting node to one on a node behind the other leaf, every 20 ms, throughout.
      const ping = continuousPing(
        nodeState(state, node).podNamespaces[0],
        `10.244.${far.slice(1)}.10`,
        500,
        20,
      );
      await new Promise((r) => setTimeout(r, 300));
      const t0 = Date.now();
      await stopNodebgp(state, node, 'SIGTERM');
      await startNodebgpAgain(state, node);
      expect((await waitReady(state, 30_000, 50)).missing).toEqual([]);
      const ready = Date.now() - t0;
      const p = await ping;
      const changes = recorder.stop();
      figures.push(
        `${node} nodebgp restarted (SIGTERM, start; ready again in ${ready} ms): ping ${node} pod -> ${far} pod ` +
          `${p.sent - p.received} of ${p.sent} lost (20 ms apart); route changes: ${JSON.stringify(
            Object.fromEntries(Object.entries(changes).filter(([, c]) => c.length > 0)),
          )}`,
      );
      for (const n of [...FRR, ...NODES])
        expect({ node: n, changed: changes[n] }).toEqual({ node: n, changed: [] });
      expect(p.sent - p.received).toBe(0);
    },
  );

  it('every pod still reaches a pod on every other node', async () => {
    await expectAllPings(state, 1);
  });

  it('a node is removed: its pod CIDR disappears from every table', async () => {
    const c = await measureConvergence(state, () => removeNode(state, 'n3'), absent([cidr('n3')], ['n3']), {
      skip: ['n3'],
      timeoutMs: HOLD_MS + 5000,
    });
    report('n3 removed (namespace deleted), 10.244.3.0/24 gone everywhere', c);
    expect(c.converged).toBe(true);
    expect(c.ms).toBeLessThan(HOLD_MS + 1000);
  });
});
