/**
 * The mirror's per-prefix state as columns (typed arrays indexed by a slot number), not an object per prefix:
 * a million routes cost a few typed arrays instead of a million objects for the garbage collector to trace.
 *
 * Per prefix, in bytes: key 8 (the IPv4 key as a double; IPv6 keys, strings, in a side Map), want 4, installed
 * 4, status 1, flags 1, busy 2, attempt 1, seen 4, answeredAt 8, since 8 — 41 — plus the IPv4 index, an
 * open-addressing hash of slot numbers (4 bytes a bucket, at most half full: 8–16). Columns grow four times
 * at a time; the pages past what is used are never written, so they cost address space, not RSS. Buckets
 * double: a rehash writes all over the new array, so every page of it counts (at 1M routes 8 MB, not 16).
 *
 * A slot is freed only when nothing refers to it: no write queued or in flight (busy 0), not in the dirty list.
 */
import { AF_INET, AF_INET6, type Family, type PrefixKey } from './prefix.js';
import type { FibStatus } from './api.js';

/** want column: not set by the daemon (a stale route of ours). */
export const WANT_STALE = -1;
/** want column: to be removed. */
export const WANT_REMOVE = 0;

/** status column. */
export const STATUS: readonly FibStatus[] = ['pending', 'installed', 'failed', 'unresolvable'];
export const PENDING = 0;
export const INSTALLED = 1;
export const FAILED = 2;
export const UNRESOLVABLE = 3;

/** flags column. */
export const LIVE = 1;
/** In the dirty list. */
export const QUEUED = 2;
/** Compare again once busy is 0 (something changed while a write was in flight). */
export const REDO = 4;

/** A bucket holds slot + 1; 0 is empty, so a new bucket array needs no fill (its pages stay untouched). */
const EMPTY = 0;
const TWO32 = 4294967296;

export class FibTable {
  private cap = 0;
  /** Slots ever used (the columns' high-water mark); free ones are on the free stack. */
  private used = 0;
  private free = new Int32Array(64);
  private freeTop = 0;
  private count_ = 0;
  key4 = new Float64Array(0);
  private readonly key6 = new Map<number, string>();
  want = new Int32Array(0);
  /** Shape id of our route in the kernel (0: none). */
  installed = new Int32Array(0);
  status = new Uint8Array(0);
  flags = new Uint8Array(0);
  /** Writes sent for this prefix and not answered yet. */
  busy = new Uint16Array(0);
  /** Failed writes in a row (the retry backoff's exponent). */
  attempt = new Uint8Array(0);
  /** The resync generation that last saw this route in the kernel. */
  seen = new Uint32Array(0);
  /** The mirror's answer count when the kernel last answered a write for this prefix. */
  answeredAt = new Float64Array(0);
  /** When the status last changed (ms). */
  since = new Float64Array(0);
  /** Why the prefix failed or is unresolvable (few: kept aside). */
  readonly errors = new Map<number, string>();
  // The IPv4 index: buckets of slot numbers, linear probing; the key is in key4[slot].
  private buckets = new Int32Array(1024);
  private mask = 1023;
  private v4count = 0;
  private readonly v6 = new Map<string, number>();

  constructor() {
    this.grow(1024);
  }

  get size(): number {
    return this.count_;
  }

  /** The slot of `key`, or -1. */
  get(key: PrefixKey): number {
    if (typeof key === 'string') return this.v6.get(key) ?? -1;
    const keys = this.key4;
    for (let i = hash(key) & this.mask; ; i = (i + 1) & this.mask) {
      const b = this.buckets[i];
      if (b === EMPTY) return -1;
      if (keys[b - 1] === key) return b - 1;
    }
  }

  /** A new slot for `key` (not in the table), status pending, wanted: stale until told. */
  add(key: PrefixKey, now: number): number {
    const s = this.freeTop > 0 ? this.free[--this.freeTop] : this.used++;
    // Four times at a time: fewer copies, and the pages past the used slots are never touched (no RSS).
    if (s >= this.cap) this.grow(this.cap * 4);
    this.want[s] = WANT_STALE;
    this.installed[s] = 0;
    this.status[s] = PENDING;
    this.flags[s] = LIVE;
    this.busy[s] = 0;
    this.attempt[s] = 0;
    this.seen[s] = 0;
    this.answeredAt[s] = 0;
    this.since[s] = now;
    this.count_++;
    if (typeof key === 'string') {
      this.key4[s] = NaN;
      this.key6.set(s, key);
      this.v6.set(key, s);
      return s;
    }
    this.key4[s] = key;
    if ((this.v4count + 1) * 2 > this.buckets.length) this.rehash(this.buckets.length * 2);
    let i = hash(key) & this.mask;
    while (this.buckets[i] !== EMPTY) i = (i + 1) & this.mask;
    this.buckets[i] = s + 1;
    this.v4count++;
    return s;
  }

  remove(s: number): void {
    if (!(this.flags[s] & LIVE)) return;
    const k6 = this.key6.get(s);
    if (k6 !== undefined) {
      this.key6.delete(s);
      this.v6.delete(k6);
    } else this.unindex(s);
    this.flags[s] = 0;
    if (this.errors.size > 0) this.errors.delete(s);
    this.count_--;
    if (this.freeTop === this.free.length) {
      const f = new Int32Array(this.free.length * 2);
      f.set(this.free);
      this.free = f;
    }
    this.free[this.freeTop++] = s;
  }

  live(s: number): boolean {
    return (this.flags[s] & LIVE) !== 0;
  }

  // An IPv6 slot's key4 is NaN (its key is in key6): one array read decides, not a Map lookup per call.
  key(s: number): PrefixKey {
    const k = this.key4[s];
    return k === k ? k : (this.key6.get(s) ?? k);
  }

  family(s: number): Family {
    const k = this.key4[s];
    return k === k ? AF_INET : AF_INET6;
  }

  /** Every live slot, in slot order (removing the current one while iterating is allowed). */
  forEach(fn: (s: number) => void): void {
    const flags = this.flags;
    for (let s = 0; s < this.used; s++) if (flags[s] & LIVE) fn(s);
  }

  /** Bytes the columns and the index take now (for the figures in bench/README.md). */
  get bytes(): number {
    const per = 8 + 4 + 4 + 1 + 1 + 2 + 1 + 4 + 8 + 8;
    return this.cap * per + this.buckets.byteLength + this.free.byteLength;
  }

  private unindex(s: number): void {
    const key = this.key4[s];
    const mask = this.mask;
    let i = hash(key) & mask;
    while (this.buckets[i] !== s + 1) i = (i + 1) & mask;
    // Backward-shift deletion: close the gap so every later key stays reachable from its home bucket.
    for (let j = (i + 1) & mask; this.buckets[j] !== EMPTY; j = (j + 1) & mask) {
      const h = hash(this.key4[this.buckets[j] - 1]) & mask;
      if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
        this.buckets[i] = this.buckets[j];
        i = j;
      }
    }
    this.buckets[i] = EMPTY;
    this.v4count--;
  }

  private rehash(size: number): void {
    const old = this.buckets;
    this.buckets = new Int32Array(size);
    this.mask = size - 1;
    for (let k = 0; k < old.length; k++) {
      const b = old[k];
      if (b === EMPTY) continue;
      let i = hash(this.key4[b - 1]) & this.mask;
      while (this.buckets[i] !== EMPTY) i = (i + 1) & this.mask;
      this.buckets[i] = b;
    }
  }

  private grow(cap: number): void {
    const f64 = (a: Float64Array): Float64Array<ArrayBuffer> => copy(new Float64Array(cap), a);
    this.key4 = f64(this.key4);
    this.answeredAt = f64(this.answeredAt);
    this.since = f64(this.since);
    this.want = copy(new Int32Array(cap), this.want);
    this.installed = copy(new Int32Array(cap), this.installed);
    this.status = copy(new Uint8Array(cap), this.status);
    this.flags = copy(new Uint8Array(cap), this.flags);
    this.busy = copy(new Uint16Array(cap), this.busy);
    this.attempt = copy(new Uint8Array(cap), this.attempt);
    this.seen = copy(new Uint32Array(cap), this.seen);
    this.cap = cap;
  }
}

function copy<T extends { set(a: ArrayLike<number>): void }>(to: T, from: ArrayLike<number>): T {
  to.set(from);
  return to;
}

/** An IPv4 key (address * 64 + length, up to 2^38) mixed into 32 bits. */
function hash(key: number): number {
  const lo = key >>> 0;
  const hi = (key / TWO32) | 0;
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 13)) >>> 0;
}
