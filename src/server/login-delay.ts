// The pause before a failed login is answered by dropping the socket (clients without
// authentication_failure_close), kept behind one small seam so tests can fire it by hand.

/** RabbitMQ 3.10's SILENT_CLOSE_DELAY: 3 s (measured live: the socket closes 3.0 s after start-ok). */
export const SILENT_CLOSE_DELAY_MS = 3000;

export interface PendingDelay {
  cancel(): void;
}

/**
 * Schedules the delayed close. A timer of its own rather than the injected Clock, which has no timer
 * API yet: once it has, this should schedule through the broker's clock and tests use ManualClock.
 */
export const loginFailureDelay = {
  schedule(ms: number, fn: () => void): PendingDelay {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};
