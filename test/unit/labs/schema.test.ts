/**
 * Every topology under labs/ must be a file real containerlab accepts: each is validated against
 * containerlab's own JSON schema, vendored unchanged in labs/schema/ (its source and licence are there).
 * A missing schema fails the test, it never skips.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadTopology } from '../../../labs/runner/topology.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const schemaPath = resolve(repo, 'labs/schema/clab.schema.json');
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

function topologyFiles(): string[] {
  const labs = join(repo, 'labs');
  return readdirSync(labs, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) =>
      readdirSync(join(labs, d.name))
        .filter((f) => f.endsWith('.clab.yml'))
        .map((f) => join(labs, d.name, f)),
    );
}

function validator(): (data: unknown) => { ok: boolean; errors: string } {
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as object;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const validate = ajv.compile(schema);
  return (data) => {
    const ok = validate(data) === true;
    return { ok, errors: ajv.errorsText(validate.errors, { separator: '\n' }) };
  };
}

describe('labs topologies against the containerlab schema', () => {
  it('finds the vendored schema at labs/schema/clab.schema.json', () => {
    expect(existsSync(schemaPath), `${schemaPath} is missing`).toBe(true);
  });

  it('has the four topologies', () => {
    const names = topologyFiles().map((f) => f.split('/').pop());
    expect(names).toEqual(
      expect.arrayContaining([
        'mesh.clab.yml',
        'leaf-spine.clab.yml',
        'route-reflector.clab.yml',
        'dual-stack.clab.yml',
      ]),
    );
  });

  const validate = existsSync(schemaPath) ? validator() : undefined;
  for (const file of topologyFiles()) {
    const rel = file.slice(repo.length + 1);
    it(`${rel} is valid containerlab`, () => {
      expect(validate, `${schemaPath} is missing`).toBeDefined();
      const result = validate?.(parseYaml(readFileSync(file, 'utf8')));
      expect(result?.errors).toBe('No errors');
      expect(result?.ok).toBe(true);
    });

    it(`${rel} is in the runner's subset, every bind exists`, () => {
      const topo = loadTopology(file);
      for (const n of topo.nodes) for (const b of n.binds) expect(existsSync(b.source), b.source).toBe(true);
    });
  }

  it('rejects what containerlab rejects (the check can fail)', () => {
    expect(validate?.({ name: 'x', topology: { nodes: { a: { kind: 'no-such-kind' } } } }).ok).toBe(false);
    expect(validate?.({ topology: { nodes: {} } }).ok).toBe(false);
  });
});
