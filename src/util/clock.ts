// Injectable time source: broker/ and server/ read time only through a Clock,
// so tests can cross TTL and heartbeat deadlines without waiting.

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/**
 * The wall clock read at most once per event-loop turn: every publish and delivery asks for the
 * time, and Date.now() per message showed up in profiles. A turn is short, so this stays within a
 * millisecond or so of the real time.
 */
class CoarseSystemClock implements Clock {
  private t = 0;
  private valid = false;
  private readonly invalidate = (): void => {
    this.valid = false;
  };

  now(): number {
    if (!this.valid) {
      this.t = Date.now();
      this.valid = true;
      setImmediate(this.invalidate);
    }
    return this.t;
  }
}

export const systemClock: Clock = new CoarseSystemClock();

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  private t: number;
  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}
