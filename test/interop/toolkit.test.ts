/**
 * The toolkit's namespaces: names unique to the run, veths that carry traffic, and a teardown that leaves
 * nothing — called, and also when the run is interrupted (SIGINT) or simply exits.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, listNamespaces, startLogged, until } from '../../toolkit/index.js';

const REPO = join(import.meta.dirname, '..', '..');
let compiled: string;

beforeAll(() => {
  // The child processes below run the toolkit with plain node, as the benchmarks do: compile it on its own.
  compiled = mkdtempSync(join(tmpdir(), 'nodebgp-toolkit-'));
  execFileSync(join(REPO, 'node_modules', '.bin', 'tsc'), [
    '--module',
    'nodenext',
    '--target',
    'es2022',
    '--types',
    'node',
    '--skipLibCheck',
    '--outDir',
    compiled,
    join(REPO, 'toolkit', 'index.ts'),
  ]);
}, 60_000);
afterAll(() => rmSync(compiled, { recursive: true, force: true }));

/** A child that makes a Lab with one namespace running `sleep`, prints the names, then does `then`. */
function child(then: 'exit' | 'wait'): {
  proc: ReturnType<typeof spawn>;
  names: Promise<string[]>;
  exited: Promise<number | null>;
} {
  const script = `
    import { Lab, until } from ${JSON.stringify(join(compiled, 'index.js'))};
    const lab = new Lab();
    const ns = lab.namespace('child');
    ns.spawn('sleep', ['600']);
    await until(() => ns.pids().length > 0, { what: 'sleep' });
    console.log(JSON.stringify([lab.prefix, ns.name]));
    ${then === 'exit' ? 'process.exit(0);' : 'setInterval(() => {}, 1000);'}
  `;
  const proc = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // Listened for from the start: the 'exit' child exits right after printing, often before `names` resolves.
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  const names = until(() => (out.includes('\n') ? (JSON.parse(out) as string[]) : undefined), {
    what: 'the child to report its namespace',
    timeout: 20_000,
  });
  return { proc, names, exited };
}

const sleepsIn = (ns: string): number => {
  try {
    return execFileSync('ip', ['netns', 'pids', ns], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .trim()
      .split(/\s+/)
      .filter(Boolean).length;
  } catch {
    return 0;
  }
};

describe('toolkit namespaces', () => {
  it('gives each Lab its own prefix, links namespaces, and teardown kills every process and deletes them', async () => {
    const one = new Lab();
    const two = new Lab();
    try {
      expect(one.prefix).not.toBe(two.prefix);
      const a = one.namespace('a');
      const b = one.namespace('b');
      const c = two.namespace('a');
      expect(new Set([a.name, b.name, c.name]).size).toBe(3);
      for (const ns of [a, b, c]) expect(ns.name.startsWith(ns === c ? two.prefix : one.prefix)).toBe(true);
      one.link(a, b, { a: ['10.99.0.1/24', 'fd00:99::1/64'], b: ['10.99.0.2/24', 'fd00:99::2/64'] });
      await a.exec('ping', ['-c', '1', '-W', '2', '10.99.0.2']);
      await a.exec('ping', ['-c', '1', '-W', '2', 'fd00:99::2']);
      // One process this Lab started, one that something else started in the namespace (a detached one).
      a.spawn('sleep', ['600']);
      const dir = one.tempDir('tk');
      startLogged(['ip', 'netns', 'exec', b.name, 'sleep', '600'], join(dir, 'sleep.log'), {
        detached: true,
      });
      await until(() => a.pids().length === 1 && b.pids().length === 1, { what: 'both sleeps' });
      await one.teardown();
      const left = listNamespaces();
      expect(left.has(a.name) || left.has(b.name)).toBe(false);
      expect(left.has(c.name)).toBe(true); // the other Lab's namespace is not ours to take
    } finally {
      await one.teardown();
      await two.teardown();
    }
    expect(listNamespaces().has(`${two.prefix}n1-a`)).toBe(false);
  });

  it('tears down when the process exits without calling teardown', async () => {
    const { names, exited } = child('exit');
    const [, ns] = await names;
    await exited;
    expect(listNamespaces().has(ns)).toBe(false);
    expect(sleepsIn(ns)).toBe(0);
  });

  it('tears down on SIGINT, killing what runs in its namespaces', async () => {
    const { proc, names, exited } = child('wait');
    const [, ns] = await names;
    expect(sleepsIn(ns)).toBe(1);
    proc.kill('SIGINT');
    const code = await exited;
    expect(code).toBe(130);
    expect(listNamespaces().has(ns)).toBe(false);
  });
});
