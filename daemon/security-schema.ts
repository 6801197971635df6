/**
 * The zod fragments for a peer's session security and failure detection, shared by the config file's peers
 * (config.ts) and the Kubernetes ones (kubernetes/schema.ts): TCP-MD5 password (RFC 2385), TTL security
 * (RFC 5082), BFD (RFC 5880/5881/5883) and the max-prefix limit. Documented in docs/config.md.
 */
import { z } from 'zod';
import { peerFieldProblem } from '../bgp/peer-config.js';

const int = (what: string) => z.number(`expected ${what}`).int(`expected ${what}`);
const ranged = (lo: number, hi: number, what: string) =>
  int(what).min(lo, `must be ${lo}..${hi}`).max(hi, `must be ${lo}..${hi}`);

/** A field checked by the BGP library's own rule (bgp/peer-config.ts), as config.ts's peerRule does. */
function libraryRule<T extends z.ZodType>(field: 'password' | 'ttlSecurity', schema: T): T {
  return schema.superRefine((v, ctx) => {
    const why = peerFieldProblem(field, v);
    if (why !== undefined) ctx.addIssue({ code: 'custom', message: why });
  });
}

/** RFC 2385 TCP-MD5 key: 1..80 bytes. Its value is never put in a message (config.ts describeIssue). */
export const passwordSchema = libraryRule('password', z.string('expected text'));

/** A file holding the password, e.g. a key of a Kubernetes Secret mounted as a volume. */
export const passwordFileSchema = z
  .string('expected a path')
  .refine((p) => p.startsWith('/'), 'must be an absolute path');

export const ttlSecuritySchema = libraryRule('ttlSecurity', z.number('expected hops'));

/** BFD for a peer: intervals in milliseconds. */
export const bfdSchema = z.strictObject({
  minRx: ranged(10, 60_000, 'milliseconds').default(300),
  minTx: ranged(10, 60_000, 'milliseconds').default(300),
  multiplier: ranged(1, 255, 'a detect multiplier').default(3),
  /** RFC 5883 multihop BFD (UDP 4784) for a peer that is not directly connected. */
  multihop: z.boolean('expected true or false').optional(),
});
export type BfdSettings = z.output<typeof bfdSchema>;

/**
 * `maxPrefixes` (bgp/max-prefix.ts): the most prefixes a peer may give us; checked again by the library's own
 * rule so the file and `Speaker.addPeer` accept the same values.
 */
export const maxPrefixesSchema = z
  .strictObject({
    limit: ranged(1, 4294967295, 'a number of prefixes'),
    warningOnly: z.boolean('expected true or false').optional(),
    restartAfter: ranged(0, 65535, 'seconds').optional(),
  })
  .superRefine((v, ctx) => {
    const why = peerFieldProblem('maxPrefixes', v);
    if (why !== undefined) ctx.addIssue({ code: 'custom', message: why });
  });

/** The keys a peer entry gains. */
export const peerSecurityShape = {
  ttlSecurity: ttlSecuritySchema.optional(),
  password: passwordSchema.optional(),
  passwordFile: passwordFileSchema.optional(),
  bfd: bfdSchema.optional(),
  maxPrefixes: maxPrefixesSchema.optional(),
};
