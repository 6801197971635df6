/**
 * The writes the mirror has decided on and the shell has not sent yet, as parallel arrays (no object per
 * write), and the writes of one batch as the shell takes them (one object per batch).
 */
import type { Entry } from './entry.js';
import type { RouteShape } from './shape.js';

/** Writes taken together (one batch): entries[i] null is a nexthop object write (shapes[i] names it). */
export interface WriteOps {
  readonly entries: readonly (Entry | null)[];
  /** RTM_NEWROUTE, RTM_DELROUTE, RTM_NEWNEXTHOP or RTM_DELNEXTHOP. */
  readonly types: readonly number[];
  readonly shapes: readonly RouteShape[];
}

export class WriteQueue {
  private entries: (Entry | null)[] = [];
  private types: number[] = [];
  private shapes: RouteShape[] = [];
  private head = 0;

  get length(): number {
    return this.entries.length - this.head;
  }

  push(entry: Entry | null, type: number, shape: RouteShape): void {
    this.entries.push(entry);
    this.types.push(type);
    this.shapes.push(shape);
  }

  /** Up to `maxOps` writes whose messages (shape.maxLen each) fit in `maxBytes`; undefined when empty. */
  take(maxOps: number, maxBytes: number): WriteOps | undefined {
    const start = this.head;
    let bytes = 0;
    let end = start;
    while (end < this.entries.length && end - start < maxOps) {
      const len = this.shapes[end].maxLen;
      if (bytes + len > maxBytes) break;
      bytes += len;
      end++;
    }
    if (end === start) return undefined;
    const ops: WriteOps = {
      entries: this.entries.slice(start, end),
      types: this.types.slice(start, end),
      shapes: this.shapes.slice(start, end),
    };
    this.head = end;
    this.compact();
    return ops;
  }

  /** Every shape a queued write refers to. */
  forEachShape(fn: (s: RouteShape) => void): void {
    for (let i = this.head; i < this.shapes.length; i++) fn(this.shapes[i]);
  }

  private compact(): void {
    if (this.head === this.entries.length) {
      this.entries = [];
      this.types = [];
      this.shapes = [];
      this.head = 0;
    } else if (this.head > 65536 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.types = this.types.slice(this.head);
      this.shapes = this.shapes.slice(this.head);
      this.head = 0;
    }
  }
}
