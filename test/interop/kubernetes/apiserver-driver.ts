/**
 * The fake API server (test/support/fake-apiserver.ts) as a process of its own, for the Kubernetes interop
 * scenarios: it runs inside the lab's "api" namespace (Node cannot setns), listening on that namespace's
 * address, and takes commands on stdin, one JSON object per line; each gets one JSON reply line on stdout.
 *
 *   {"id":1,"op":"addNode","args":["node-1",{"podCIDRs":["10.244.1.0/24"],"internalIPs":["10.100.0.1"]}]}
 *   {"id":2,"op":"setPodCIDRs","args":["node-4",["10.244.4.0/24"]]}      a podCIDR assigned late
 *   {"id":3,"op":"setMeta","args":["node-1",{"labels":{…},"annotations":{…}}]}
 *   {"id":4,"op":"deleteNode","args":["node-3"]}
 *   {"id":5,"op":"down"}  /  {"op":"up"}    stop listening (every watch cut) / listen again on the same port
 *   {"id":6,"op":"patches"}  /  {"op":"conditions","args":["node-1"]}
 *   {"id":7,"op":"putService","args":["web",{"loadBalancerIPs":["192.0.2.10"],"externalTrafficPolicy":"Local"}]}
 *   {"id":8,"op":"putEndpointSlice","args":["web",[{"node":"node-1","address":"10.244.1.5"}]]}
 *   {"id":9,"op":"deleteService","args":["default/web"]}  /  {"op":"deleteEndpointSlice","args":["default/web-x1"]}
 *
 * Started as `node apiserver-driver.mjs HOST PORT` after esbuild bundled it (kubernetes-lab.ts does that).
 */
import { createInterface } from 'node:readline';
import { FakeApiServer, makeEndpointSlice, makeNode, makeService } from '../../support/fake-apiserver.js';

type Args = readonly unknown[];

const server = new FakeApiServer();
server.host = process.argv[2] ?? '127.0.0.1';
server.port = Number(process.argv[3] ?? 6443);

const ops: Record<string, (args: Args) => unknown> = {
  addNode: ([name, opts]) => server.addNode(makeNode(name as string, opts as Parameters<typeof makeNode>[1])),
  deleteNode: ([name]) => server.deleteNode(name as string),
  setPodCIDRs: ([name, cidrs]) =>
    server.modifyNode(name as string, (n) => {
      const list = cidrs as string[];
      n.spec = { ...n.spec, podCIDR: list[0], podCIDRs: list };
    }),
  setMeta: ([name, meta]) =>
    server.modifyNode(name as string, (n) => {
      const m = meta as { labels?: Record<string, string>; annotations?: Record<string, string> };
      n.metadata = {
        ...n.metadata,
        labels: { ...n.metadata?.labels, ...m.labels },
        annotations: { ...n.metadata?.annotations, ...m.annotations },
      };
    }),
  putService: ([key, opts]) =>
    server.putService(makeService(key as string, opts as Parameters<typeof makeService>[1])),
  deleteService: ([key]) => server.deleteService(key as string),
  putEndpointSlice: ([service, endpoints, name]) =>
    server.putEndpointSlice(
      makeEndpointSlice(
        service as string,
        endpoints as Parameters<typeof makeEndpointSlice>[1],
        name as string | undefined,
      ),
    ),
  deleteEndpointSlice: ([key]) => server.deleteEndpointSlice(key as string),
  down: () => server.close(),
  up: () => server.listen(),
  patches: () => server.patches,
  conditions: ([name]) => server.nodes.get(name as string)?.status?.conditions ?? [],
  openWatches: () => server.openWatches,
};

await server.listen();
process.stdout.write(`${JSON.stringify({ ready: server.url })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  const { id, op, args } = JSON.parse(line) as { id: number; op: string; args?: Args };
  try {
    const fn = ops[op];
    if (!fn) throw new Error(`unknown op ${op}`);
    const result: unknown = await fn(args ?? []);
    process.stdout.write(`${JSON.stringify({ id, result: result ?? null })}\n`);
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ id, error: (err as Error).message })}\n`);
  }
}
await server.close();
