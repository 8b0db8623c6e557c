// Entries a reader may hand over: a follower applies the log in order, and a gap in the sequences
// is fine only where the stream purged entries. A JetStream consumer reads the store of the node
// it is placed on, and a replica still catching up after a restart lacks entries the stream's
// leader holds: handed over, such a gap silently drops frames (the kill matrix lost a vhost's
// definitions that way). So each gap is checked against the stream before going past it.

/**
 * How many of `seqs` (read from `fromSeq`, ascending) may be handed over: all, or up to the first
 * gap in which the stream still holds an entry (or whose answer is unknown). `nextHeld(seq)` is
 * the stream's first sequence at or after `seq` (null: none).
 */
export async function handOverUpTo(fromSeq: number, seqs: readonly number[], nextHeld: (seq: number) => Promise<number | null>): Promise<number> {
  let expect = fromSeq;
  for (let i = 0; i < seqs.length; i++) {
    const seq = seqs[i] as number;
    if (seq > expect) {
      let next: number | null;
      try {
        next = await nextHeld(expect);
      } catch {
        // Unknown (an engine election): nothing past the gap yet.
        return i;
      }
      if (next !== null && next < seq) return i;
    }
    expect = seq + 1;
  }
  return seqs.length;
}
