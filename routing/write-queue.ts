/**
 * The writes the mirror has decided on and the shell has not sent yet, as typed arrays (a slot number, a
 * message type and a shape id per write: 9 bytes, no object), and the writes of one batch as the shell takes
 * them (one object per batch).
 */
import type { RouteShape, ShapeTable } from './shape.js';

/** Writes taken together (one batch): slots[i] -1 is a nexthop object write (shapes[i] names it). */
export interface WriteOps {
  readonly slots: Int32Array;
  /** RTM_NEWROUTE, RTM_DELROUTE, RTM_NEWNEXTHOP or RTM_DELNEXTHOP. */
  readonly types: Uint8Array;
  readonly shapes: readonly RouteShape[];
}

export class WriteQueue {
  private slots = new Int32Array(1024);
  private types = new Uint8Array(1024);
  private shapes = new Int32Array(1024);
  private head = 0;
  private tail = 0;

  constructor(private readonly table: ShapeTable) {}

  get length(): number {
    return this.tail - this.head;
  }

  push(slot: number, type: number, shape: RouteShape): void {
    if (this.tail === this.slots.length) this.makeRoom();
    this.slots[this.tail] = slot;
    this.types[this.tail] = type;
    this.shapes[this.tail] = shape.id;
    this.tail++;
  }

  /** Up to `maxOps` writes whose messages (shape.maxLen each) fit in `maxBytes`; undefined when empty. */
  take(maxOps: number, maxBytes: number): WriteOps | undefined {
    const start = this.head;
    const shapes: RouteShape[] = [];
    let bytes = 0;
    let end = start;
    while (end < this.tail && end - start < maxOps) {
      const shape = this.table.byNumber(this.shapes[end]);
      if (bytes + shape.maxLen > maxBytes) break;
      bytes += shape.maxLen;
      shapes.push(shape);
      end++;
    }
    if (end === start) return undefined;
    const ops: WriteOps = {
      slots: this.slots.slice(start, end),
      types: this.types.slice(start, end),
      shapes,
    };
    this.head = end;
    if (this.head === this.tail) this.head = this.tail = 0;
    return ops;
  }

  /** Every shape a queued write refers to. */
  forEachShape(fn: (s: RouteShape) => void): void {
    for (let i = this.head; i < this.tail; i++) fn(this.table.byNumber(this.shapes[i]));
  }

  private makeRoom(): void {
    const n = this.tail - this.head;
    const cap = n * 2 > this.slots.length ? this.slots.length * 2 : this.slots.length;
    const move = <T extends Int32Array | Uint8Array>(a: T, b: T): T => {
      b.set(a.subarray(this.head, this.tail));
      return b;
    };
    this.slots = move(this.slots, new Int32Array(cap));
    this.types = move(this.types, new Uint8Array(cap));
    this.shapes = move(this.shapes, new Int32Array(cap));
    this.head = 0;
    this.tail = n;
  }
}
