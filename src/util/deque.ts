// Growable ring buffer: O(1) push/shift/unshift, used for queue contents and pending writes.

export class Deque<T> {
  private items: (T | undefined)[];
  private head = 0;
  private count = 0;

  constructor(capacity = 16) {
    this.items = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) % this.items.length] = item;
    this.count++;
  }

  unshift(item: T): void {
    if (this.count === this.items.length) this.grow();
    this.head = (this.head - 1 + this.items.length) % this.items.length;
    this.items[this.head] = item;
    this.count++;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.count--;
    return item;
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head];
  }

  at(i: number): T | undefined {
    if (i < 0 || i >= this.count) return undefined;
    return this.items[(this.head + i) % this.items.length];
  }

  /** Insert at index i (0 = head), shifting later items; O(n) but rare (requeue). */
  insertAt(i: number, item: T): void {
    if (i <= 0) return this.unshift(item);
    if (i >= this.count) return this.push(item);
    this.push(item); // grow if needed, then move items right by one
    for (let j = this.count - 1; j > i; j--) {
      this.items[(this.head + j) % this.items.length] = this.items[(this.head + j - 1) % this.items.length];
    }
    this.items[(this.head + i) % this.items.length] = item;
  }

  /** Remove the item at index i; O(n). */
  removeAt(i: number): T | undefined {
    if (i < 0 || i >= this.count) return undefined;
    const cap = this.items.length;
    const item = this.items[(this.head + i) % cap];
    for (let j = i; j < this.count - 1; j++) {
      this.items[(this.head + j) % cap] = this.items[(this.head + j + 1) % cap];
    }
    this.items[(this.head + this.count - 1) % cap] = undefined;
    this.count--;
    return item;
  }

  clear(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.items[(this.head + i) % this.items.length] as T);
    this.items = new Array<T | undefined>(16);
    this.head = 0;
    this.count = 0;
    return out;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.count; i++) yield this.items[(this.head + i) % this.items.length] as T;
  }

  private grow(): void {
    const next = new Array<T | undefined>(this.items.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = this.items[(this.head + i) % this.items.length];
    this.items = next;
    this.head = 0;
  }
}
