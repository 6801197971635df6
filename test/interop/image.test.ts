/**
 * The container image, built and run for real. scripts/image.sh builds it with podman (on a local base:
 * nothing is pulled), then the image's own root filesystem (`podman image mount`: read-only, like the
 * DaemonSet's readOnlyRootFilesystem) runs the image's ENTRYPOINT and CMD with chroot inside a network
 * namespace, with the image's environment only, peering with FRR in another namespace. `podman run` cannot
 * start containers on this machine (crun's setrlimit is refused), hence chroot. What a container runtime and
 * the DaemonSet would mount comes from a private mount namespace: /proc, /dev, /sys, a tmpfs /tmp, the config
 * directory at /etc/nodebgp and the control socket's directory at /run/nodebgp.
 *
 * Skipped (with the reason in the test name) without root, podman or debootstrap: scripts/setup.sh installs
 * them. The first build on a machine makes the local base (debootstrap, about a minute) and builds every
 * stage, a few minutes in all; after that podman's layer cache makes it about half a minute.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { PeerStatus } from '../../bgp/api.js';
import { Daemon, Lab, run, startFrr, until, type Frr, type Netns } from './harness/index.js';
import { REPO } from './harness/nodebgp.js';

const execFileAsync = promisify(execFile);
const TAG = 'localhost/nodebgp:interop';
const BUILD_TIMEOUT_MS = 20 * 60_000;

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  const absent = ['podman', 'debootstrap', 'chroot', 'unshare'].filter(
    (c) => spawnSync('sh', ['-c', `command -v ${c}`], { stdio: 'ignore' }).status !== 0,
  );
  return absent.length > 0 ? `needs ${absent.join(', ')}: run scripts/setup.sh` : undefined;
}
const skip = skipReason();

interface ImageConfig {
  readonly Env: readonly string[];
  readonly Entrypoint: readonly string[];
  readonly Cmd: readonly string[];
  readonly WorkingDir: string;
}

/** scripts/image.sh with its output in a log file; resolves to the last line it prints (the image's name). */
async function imageScript(args: readonly string[], log: string): Promise<string> {
  const fd = openSync(log, 'a');
  const proc = spawn(join(REPO, 'scripts', 'image.sh'), [...args], { stdio: ['ignore', 'pipe', fd] });
  let out = '';
  proc.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  const timer = setTimeout(() => proc.kill('SIGTERM'), BUILD_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
  clearTimeout(timer);
  if (code !== 0) {
    const tail = readFileSync(log, 'utf8').split('\n').slice(-40).join('\n');
    throw new Error(`scripts/image.sh ${args.join(' ')} exited ${code}:\n${tail}`);
  }
  return out.trim().split('\n').at(-1)!;
}

/**
 * The shell that turns the mounted image into what a container sees, then runs `$@` in it: a private mount
 * namespace (unshare) so none of these mounts outlives the process, chroot into the image, cd to WORKDIR.
 */
const ENTER = [
  'set -e',
  'r=$1 cfg=$2 rundir=$3 wd=$4; shift 4',
  'mount -t proc proc "$r/proc"',
  'mount --rbind /dev "$r/dev"',
  'mount --rbind /sys "$r/sys"',
  'mount -t tmpfs -o size=16m tmpfs "$r/tmp"',
  'mount --bind "$cfg" "$r/etc/nodebgp"',
  'mount --bind "$rundir" "$r/run/nodebgp"',
  `exec chroot "$r" /bin/sh -c 'cd "$1" && shift && exec "$@"' sh "$wd" "$@"`,
].join('\n');

describe.skipIf(skip !== undefined)(
  `image: built with podman, run from its own filesystem${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    const lab = new Lab();
    let root: string;
    let image: ImageConfig;
    let env: Record<string, string>;
    let cfgDir: string;
    let runDir: string;
    let nsFrr: Netns;
    let nsImg: Netns;
    let frr: Frr;
    let nb: Daemon;

    /** argv run inside the image (outside any network namespace: the control socket is a file). */
    const inImage = (argv: readonly string[]) =>
      [
        'unshare',
        '--mount',
        '--propagation',
        'private',
        '--',
        'sh',
        '-c',
        ENTER,
        'sh',
        root,
        cfgDir,
        runDir,
        image.WorkingDir,
        ...argv,
      ] as const;

    /** `nodebgp neighbors --json` by the image's own CLI. */
    async function neighbors(): Promise<PeerStatus[]> {
      const [cmd, ...args] = inImage([
        'nodebgp',
        'neighbors',
        '--json',
        '--socket',
        '/run/nodebgp/nodebgp.sock',
      ]);
      const { stdout } = await execFileAsync(cmd, args, { env, timeout: 20_000 });
      return JSON.parse(stdout) as PeerStatus[];
    }

    /** GET /readyz on the image's health port, as the kubelet's probe would (status and body). */
    async function readyz(): Promise<string> {
      const probe =
        "fetch('http://127.0.0.1:9179/readyz').then(async (r) => console.log(r.status, (await r.text()).trim()))";
      return (await nsImg.exec(process.execPath, ['-e', probe])).trim();
    }

    beforeAll(async () => {
      const logDir = lab.tempDir('image');
      const log = join(logDir, 'build.log');
      const started = Date.now();
      const tag = await imageScript(['build', '--tag', TAG], log);
      console.log(`image: ${tag} built in ${((Date.now() - started) / 1000).toFixed(1)} s (log: ${log})`);
      const base = await imageScript(['base'], log);
      const size = async (name: string) =>
        Number((await run(['podman', 'image', 'inspect', '--format', '{{.Size}}', name])).trim());
      const [total, baseSize] = [await size(TAG), await size(base)];
      console.log(
        `image: ${(total / 1e6).toFixed(1)} MB, of which ${((total - baseSize) / 1e6).toFixed(1)} MB on top of ${base}`,
      );
      expect(total - baseSize, 'bytes nodebgp adds to its Node.js base').toBeLessThan(100e6);

      image = JSON.parse(
        await run(['podman', 'image', 'inspect', '--format', '{{json .Config}}', TAG]),
      ) as ImageConfig;
      env = Object.fromEntries(
        image.Env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
      );
      root = (await run(['podman', 'image', 'mount', TAG])).trim();
      lab.onTeardown(() => spawnSync('podman', ['image', 'unmount', TAG], { stdio: 'ignore' }));

      cfgDir = join(logDir, 'etc');
      runDir = join(logDir, 'run');
      mkdirSync(cfgDir);
      mkdirSync(runDir);
      nsFrr = lab.namespace('frr');
      nsImg = lab.namespace('img');
      lab.link(nsFrr, nsImg, { a: ['10.77.0.1/24'], b: ['10.77.0.2/24'] });
      // The config the image's CMD names: /etc/nodebgp/config.yaml, as the DaemonSet mounts it.
      writeFileSync(
        join(cfgDir, 'config.yaml'),
        stringify({
          asn: 65002,
          routerId: '10.77.0.2',
          listen: { address: '10.77.0.2', port: 179 },
          node: { address: '10.77.0.2', podCIDRs: ['10.244.2.0/24'] },
          peers: [{ address: '10.77.0.1', asn: 65001, holdTime: 9 }],
          // Without an import policy nothing learned is accepted (docs/config.md): take FRR's route.
          importPrefixes: [{ prefix: '10.0.1.0/24' }],
          kernel: { enabled: true },
          health: { address: '127.0.0.1', port: 9179 },
          controlSocket: '/run/nodebgp/nodebgp.sock',
        }),
      );
      const [cmd, ...args] = inImage([...image.Entrypoint, ...image.Cmd]);
      nb = new Daemon(
        'nodebgp-image',
        nsImg,
        logDir,
        nsImg.spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }),
      );
      await until(async () => Array.isArray(await neighbors()), {
        timeout: 30_000,
        interval: 250,
        what: 'the control socket of the daemon in the image',
        failIf: () => (nb.running ? undefined : `the daemon exited: ${nb.log().slice(-2000)}`),
      });
    }, BUILD_TIMEOUT_MS + 60_000);

    afterAll(async () => {
      await lab.teardown();
    });

    it('holds the compiled daemon and production dependencies only', () => {
      expect(image.Entrypoint).toEqual(['nodebgp']);
      expect(image.Cmd).toEqual(['run', '--config', '/etc/nodebgp/config.yaml']);
      expect(existsSync(join(root, 'app/dist/daemon/cli/main.js'))).toBe(true);
      for (const absent of [
        'app/daemon', // TypeScript sources
        'app/dist/labs', // the lab runner
        'app/node_modules/typescript', // dev dependencies
        'app/node_modules/vitest',
        'root/.npm/_cacache', // npm's cache
        'usr/bin/gcc', // a compiler
      ])
        expect(existsSync(join(root, absent)), absent).toBe(false);
    });

    it('runs from the image, is unready until a session is up, then peers with FRR into the kernel', async () => {
      // The daemon's root directory is the image's: nothing of the repository's checkout is used.
      expect(readlinkSync(`/proc/${nb.pid}/root`)).toBe(root);
      expect(await readyz()).toBe('503 not ready: no BGP session Established (0 of 1 peers)');

      frr = await startFrr(nsFrr, lab.tempDir('frr'), {
        bgpd: [
          'router bgp 65001',
          ' bgp router-id 10.77.0.1',
          ' no bgp ebgp-requires-policy',
          ' no bgp network import-check',
          ' neighbor 10.77.0.2 remote-as 65002',
          ' neighbor 10.77.0.2 timers 3 9',
          ' neighbor 10.77.0.2 timers connect 1',
          ' address-family ipv4 unicast',
          '  network 10.0.1.0/24',
          ' exit-address-family',
          '',
        ].join('\n'),
      });
      const peer = await until(
        async () => (await neighbors()).find((n) => n.address === '10.77.0.1' && n.state === 'Established'),
        {
          timeout: 60_000,
          interval: 500,
          what: `nodebgp neighbors (image CLI) Established (log: ${nb.logFile})`,
        },
      );
      expect(peer.asn).toBe(65001);
      const route = await until(
        async () => {
          const routes = JSON.parse(await nsImg.ip(['-j', 'route', 'show', '10.0.1.0/24'])) as {
            gateway?: string;
            protocol?: string;
          }[];
          return routes.find((r) => r.gateway === '10.77.0.1');
        },
        { what: "FRR's 10.0.1.0/24 in the image namespace's kernel table" },
      );
      expect(['nodebgp', '202']).toContain(String(route.protocol));
      await until(async () => (await frr.vtysh('show bgp ipv4 unicast 10.244.2.0/24')).includes('65002'), {
        what: 'FRR learns 10.244.2.0/24 from the image',
      });
      expect(await readyz()).toBe('200 ok');
    });

    it('stops on SIGTERM with a Cease to FRR well within the pod grace period', async () => {
      const t0 = Date.now();
      process.kill(nb.pid, 'SIGTERM');
      const code = await nb.exited;
      const stopMs = Date.now() - t0;
      console.log(`image: the daemon stopped ${stopMs} ms after SIGTERM`);
      expect(code, nb.log().slice(-3000)).toBe(0);
      // The daemon's own stop deadline is 10 s; the DaemonSet's terminationGracePeriodSeconds is 30.
      expect(stopMs).toBeLessThan(10_000);
      const n = await frr.vtyshJson<
        Record<string, { lastNotificationReason?: string; lastResetDueTo?: string }>
      >('show bgp neighbor 10.77.0.2 json');
      expect(`${n['10.77.0.2']?.lastNotificationReason} ${n['10.77.0.2']?.lastResetDueTo}`).toMatch(/Cease/i);
    });
  },
);
