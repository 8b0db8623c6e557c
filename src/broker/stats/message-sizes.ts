// Published message body sizes as a cumulative histogram, RabbitMQ's rabbitmq_message_size_bytes
// (its bucket bounds, so the Overview dashboard's size panels line up). One comparison chain and
// three increments per publish; nothing allocated.

/** Upper bounds of the buckets, in bytes (the last bucket, +Inf, is implicit). */
export const MESSAGE_SIZE_BOUNDS: readonly number[] = [100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 50_000_000, 100_000_000];

export class MessageSizes {
  /** counts[i]: messages with size <= MESSAGE_SIZE_BOUNDS[i] and above the previous bound; the last slot is above all bounds. */
  readonly counts = new Float64Array(MESSAGE_SIZE_BOUNDS.length + 1);
  sum = 0;
  count = 0;

  observe(size: number): void {
    let i = 0;
    const b = MESSAGE_SIZE_BOUNDS;
    while (i < b.length && size > (b[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += size;
    this.count++;
  }

  /** Cumulative counts per bound (Prometheus `le` buckets), then +Inf. */
  cumulative(): number[] {
    const out: number[] = [];
    let n = 0;
    for (const c of this.counts) out.push((n += c));
    return out;
  }
}
