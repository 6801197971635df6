/**
 * `nodebgp COMMAND [...]`: the daemon (`run`) and the inspection commands that read its control socket.
 * Exit codes: 0 ok, 1 error (daemon unreachable, bad config, unknown peer), 2 usage.
 */
import { parseArgs } from 'node:util';
import { ClientError, get, post, socketPath } from '../client.js';
import { ConfigError, loadConfig } from '../config.js';
import type { BfdView, FibView, NeighborStatus, RouteView, ShutdownView, StatusView } from '../views.js';
import { bfdTable, fibTable, neighborsTable, ribTable, routesTable, statusText } from './format.js';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  readonly env: NodeJS.ProcessEnv;
}

const processIo: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
};

const SOCKET_HELP =
  '  --socket PATH   control socket (default $NODEBGP_SOCKET or /run/nodebgp/nodebgp.sock)\n';
const JSON_HELP = '  --json          print JSON instead of a table\n';

interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly options: Record<string, { type: 'string' | 'boolean' }>;
  run(
    values: Record<string, string | boolean | undefined>,
    positionals: string[],
    io: CliIo,
  ): Promise<number>;
}

const clientOptions = { socket: { type: 'string' }, json: { type: 'boolean' } } as const;

class UsageError extends Error {}

function sock(values: Record<string, string | boolean | undefined>, io: CliIo): string {
  return socketPath(typeof values.socket === 'string' ? values.socket : undefined, io.env);
}

/** A command that GETs one endpoint and prints it as JSON or a table. */
function show<T>(
  summary: string,
  usage: string,
  path: (pos: string[]) => string,
  render: (body: T, pos: string[]) => { json: unknown; text: string },
  extra: Record<string, { type: 'string' | 'boolean' }> = {},
): Command {
  return {
    summary,
    usage,
    options: { ...clientOptions, ...extra },
    async run(values, pos, io) {
      const body = await get<T>(sock(values, io), path(pos));
      const r = render(body, pos);
      io.out(values.json ? JSON.stringify(r.json, null, 2) + '\n' : r.text);
      return 0;
    },
  };
}

function onePeer(pos: string[]): string {
  if (pos.length !== 1) throw new UsageError('expected exactly one PEER address');
  return pos[0];
}

const COMMANDS: Record<string, Command> = {
  run: {
    summary: 'run the daemon in the foreground (JSON logs on stdout)',
    usage:
      'nodebgp run [--config FILE] [--log-level LEVEL] [--control-socket PATH]\n\n' +
      'Runs the BGP daemon until SIGTERM/SIGINT; SIGHUP reloads the config.\n' +
      '  --config FILE          config file (default $NODEBGP_CONFIG or /etc/nodebgp/config.yaml)\n' +
      '  --log-level LEVEL      trace|debug|info|warn|error|fatal (default $NODEBGP_LOG_LEVEL or log.level)\n' +
      '  --control-socket PATH  overrides controlSocket from the config\n',
    options: {
      config: { type: 'string' },
      'log-level': { type: 'string' },
      'control-socket': { type: 'string' },
    },
    async run(values, pos) {
      if (pos.length > 0) throw new UsageError(`unexpected argument ${pos[0]}`);
      const { runDaemon } = await import('../main.js');
      const code = await runDaemon({
        config: values.config as string | undefined,
        logLevel: values['log-level'] as string | undefined,
        controlSocket: values['control-socket'] as string | undefined,
      });
      // Everything is closed; should a handle linger, it must not keep a stopped daemon alive.
      setTimeout(() => process.exit(code), 200).unref();
      return code;
    },
  },
  neighbors: show<NeighborStatus[]>(
    'BGP peers: state, up/down time, BFD, prefixes received/accepted/advertised, last error',
    `nodebgp neighbors [--json] [--socket PATH]\n\n${JSON_HELP}${SOCKET_HELP}`,
    () => '/neighbors',
    (peers) => ({ json: peers, text: neighborsTable(peers) }),
  ),
  routes: {
    ...show<RouteView[]>(
      'the Loc-RIB: every path, the best marked *>, with the decision step',
      'nodebgp routes [PREFIX|ADDRESS] [--longer] [--json] [--socket PATH]\n\n' +
        'With a PREFIX (10.0.1.0/24): the routes for exactly that prefix.\n' +
        'With an ADDRESS (10.0.1.7): the routes of the longest prefix containing it.\n' +
        `  --longer        with a PREFIX: every route inside it (vtysh longer-prefixes)\n${JSON_HELP}${SOCKET_HELP}`,
      () => '',
      (routes) => ({ json: routes, text: routesTable(routes) }),
      { longer: { type: 'boolean' } },
    ),
    async run(values, pos, io) {
      if (pos.length > 1) throw new UsageError('expected at most one PREFIX');
      let path = '/routes';
      if (pos.length === 1) {
        const match = values.longer ? 'longer' : pos[0].includes('/') ? 'exact' : 'longest';
        path += `?prefix=${encodeURIComponent(pos[0])}&match=${match}`;
      } else if (values.longer) throw new UsageError('--longer needs a PREFIX');
      const routes = await get<RouteView[]>(sock(values, io), path);
      io.out(values.json ? JSON.stringify(routes, null, 2) + '\n' : routesTable(routes));
      return 0;
    },
  },
  'adj-rib-in': show<RouteView[]>(
    'what a peer sent us (before import policy)',
    `nodebgp adj-rib-in PEER [--json] [--socket PATH]\n\n${JSON_HELP}${SOCKET_HELP}`,
    (pos) => `/adj-rib-in?peer=${encodeURIComponent(onePeer(pos))}`,
    (routes, pos) => ({ json: routes, text: ribTable(routes, 'in', pos[0]) }),
  ),
  'adj-rib-out': show<RouteView[]>(
    'what we advertise to a peer',
    `nodebgp adj-rib-out PEER [--json] [--socket PATH]\n\n${JSON_HELP}${SOCKET_HELP}`,
    (pos) => `/adj-rib-out?peer=${encodeURIComponent(onePeer(pos))}`,
    (routes, pos) => ({ json: routes, text: ribTable(routes, 'out', pos[0]) }),
  ),
  fib: show<FibView>(
    'routes wanted in the kernel beside what the kernel holds',
    `nodebgp fib [--json] [--socket PATH]\n\n${JSON_HELP}${SOCKET_HELP}`,
    () => '/fib',
    (fib) => ({ json: fib.entries, text: fibTable(fib) }),
  ),
  bfd: show<BfdView>(
    'BFD sessions: state, timers, last diagnostic, counters',
    `nodebgp bfd [--json] [--socket PATH]\n\nTx/Detect: our interval between packets and the time after which a silent peer is down.\n${JSON_HELP}${SOCKET_HELP}`,
    () => '/bfd',
    (v) => ({ json: v, text: bfdTable(v) }),
  ),
  status: show<StatusView>(
    'node, pod CIDRs, sessions and kernel routes on one screen',
    `nodebgp status [--json] [--socket PATH]\n\n${JSON_HELP}${SOCKET_HELP}`,
    () => '/status',
    (s) => ({ json: s, text: statusText(s) }),
  ),
  shutdown: {
    summary: 'stop the daemon; --withdraw: Hard Reset to every peer and our kernel routes removed',
    usage:
      'nodebgp shutdown [--withdraw] [--socket PATH]\n\n' +
      'Without --withdraw: as SIGTERM (with graceful restart the kernel routes stay and the peers keep ours).\n' +
      '  --withdraw      decommission: RFC 8538 Hard Reset to every peer, so they withdraw our routes at once,\n' +
      '                  and our kernel routes and nexthop objects removed, then exit\n' +
      SOCKET_HELP,
    options: { socket: { type: 'string' }, withdraw: { type: 'boolean' } },
    async run(values, pos, io) {
      if (pos.length > 0) throw new UsageError(`unexpected argument ${pos[0]}`);
      const withdraw = values.withdraw === true;
      const r = await post<ShutdownView>(sock(values, io), `/shutdown?withdraw=${withdraw ? 1 : 0}`);
      io.out(
        `nodebgp stopping${r.withdraw ? ': Hard Reset sent to every peer, kernel routes removed' : ''}\n`,
      );
      return 0;
    },
  },
  config: {
    summary: 'config check FILE: validate a config file; config show: the running config',
    usage:
      'nodebgp config check FILE\n  validate FILE and exit (0 valid, 1 invalid with the field and value named)\n' +
      `nodebgp config show [--socket PATH]\n  the running daemon's config as JSON\n${SOCKET_HELP}`,
    options: { socket: { type: 'string' } },
    async run(values, pos, io) {
      if (pos[0] === 'check' && pos.length === 2) {
        const c = loadConfig({ config: pos[1] }, {});
        io.out(
          `config ${pos[1]}: ok (AS ${c.asn}, ${c.peers.length} peers, ${c.node.podCIDRs.length} pod CIDRs)\n`,
        );
        // Valid, but a peer without import rules gets nothing accepted (docs/config.md, Import policy).
        if (c.kubernetes?.enabled !== true)
          c.peers.forEach((p, i) => {
            if (c.peerImport.get(p.address) === undefined && c.importPrefixes === undefined)
              io.out(
                `config ${pos[1]}: note: peers[${i}] (${p.address}) has no import rules: every route it sends ` +
                  'is refused (set peers[].import or importPrefixes)\n',
              );
          });
        return 0;
      }
      if (pos[0] === 'show' && pos.length === 1) {
        io.out(JSON.stringify(await get<unknown>(sock(values, io), '/config'), null, 2) + '\n');
        return 0;
      }
      throw new UsageError('expected `config check FILE` or `config show`');
    },
  },
};

function topHelp(): string {
  const names = Object.keys(COMMANDS);
  const w = Math.max(...names.map((n) => n.length));
  return (
    'nodebgp: a per-node BGP daemon that advertises pod subnets and installs learned routes\n\n' +
    'Usage: nodebgp COMMAND [options]   (nodebgp COMMAND --help for details)\n\nCommands:\n' +
    names.map((n) => `  ${n.padEnd(w)}  ${COMMANDS[n].summary}`).join('\n') +
    // bin/nodebgp runs `lab` (a source checkout's lab runner) itself: the daemon does not carry labs/.
    `\n  ${'lab'.padEnd(w)}  containerlab topologies in network namespaces: lab up|down|status|exec|wait|ping-matrix` +
    '\n\nExit codes: 0 ok, 1 error, 2 usage.\n'
  );
}

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(topHelp());
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    io.err(`nodebgp: unknown command "${name}"\n\n${topHelp()}`);
    return 2;
  }
  try {
    const { values, positionals } = parseArgs({
      args: [...rest],
      options: { ...cmd.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      io.out(`Usage: ${cmd.usage}`);
      return 0;
    }
    return await cmd.run(values, positionals, io);
  } catch (err) {
    return reportError(err, name, cmd, io);
  }
}

function reportError(err: unknown, name: string, cmd: Command, io: CliIo): number {
  if (
    err instanceof UsageError ||
    (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))
  ) {
    io.err(`nodebgp ${name}: ${(err as Error).message}\nUsage: ${cmd.usage}`);
    return 2;
  }
  if (err instanceof ClientError || err instanceof ConfigError) {
    io.err(`${err.message}\n`);
    return 1;
  }
  io.err(`nodebgp ${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 1;
}
