// Keeps a channel's output in order around replies that must wait for the disk: while something
// must be durable before a reply (declare-ok, commit-ok), everything the channel sends after that
// point waits here. Each wait opens a new segment; segments are released front to back as their
// waits finish.

interface Segment {
  held: (() => void)[];
  done: boolean;
}

export class ReplyGate {
  private readonly segments: Segment[] = [];

  /** True while output must be held (some wait has not finished). */
  get holding(): boolean {
    return this.segments.length > 0;
  }

  /** Queue `write` behind the current wait; only while `holding`. */
  hold(write: () => void): void {
    (this.segments[this.segments.length - 1] as Segment).held.push(write);
  }

  /** Hold everything sent from now on until `wait` calls back (and every earlier wait has). */
  holdUntil(wait: (cb: (err: Error | null) => void) => void): void {
    const segment: Segment = { held: [], done: false };
    const segments = this.segments;
    segments.push(segment);
    wait(() => {
      segment.done = true;
      // Released even after the channel closed: close-ok and the like were held behind it.
      while (segments.length > 0 && (segments[0] as Segment).done) {
        const s = segments.shift() as Segment;
        for (const f of s.held) f();
      }
    });
  }
}
