// Entries a reader may hand over: a follower applies the log in order, and a gap in the sequences
// is fine only where the stream purged entries. A JetStream consumer reads the store of the node
// it is placed on, and a replica still catching up after a restart lacks entries the stream's
// leader holds: handed over, such a gap silently drops frames (the kill matrix lost a vhost's
// definitions that way). So each gap is checked against the stream before going past it.

/**
 * How many of `seqs` (read from `fromSeq`, ascending) may be handed over: all, or up to the first
 * gap whose first sequence the stream still holds (or whose answer is unknown).
 */
export async function handOverUpTo(fromSeq: number, seqs: readonly number[], held: (seq: number) => Promise<boolean>): Promise<number> {
  let expect = fromSeq;
  for (let i = 0; i < seqs.length; i++) {
    const seq = seqs[i] as number;
    if (seq > expect) {
      let there: boolean;
      try {
        there = await held(expect);
      } catch {
        // Unknown (an engine election): nothing past the gap yet.
        there = true;
      }
      if (there) return i;
    }
    expect = seq + 1;
  }
  return seqs.length;
}
