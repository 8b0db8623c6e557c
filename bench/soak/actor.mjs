// A long-lived amqplib client that reconnects after losing its connection. Losing it is counted
// as an error: the soak's steady clients never provoke the broker, so the broker must not drop them.
import amqp from 'amqplib';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const CLOSE_WAIT_MS = 5000;

export function withTimeout(promise, ms, fallback) {
  let timer;
  return Promise.race([promise, new Promise((r) => (timer = setTimeout(() => r(fallback), ms)))]).finally(() => clearTimeout(timer));
}

export async function closeConnection(conn) {
  await withTimeout(
    conn.close().catch(() => {}),
    CLOSE_WAIT_MS,
  );
}

export class Actor {
  /**
   * @param name what the errors are attributed to
   * @param run (conn, actor) => Promise: sets up one session; the actor stays connected until stop()
   * @param onError (name, message) => void
   */
  constructor(url, name, run, onError) {
    this.url = url;
    this.name = name;
    this.runSession = run;
    this.onError = onError;
    this.stopping = false;
    this.conn = null;
    /** Work to finish before closing (flush acks, wait for confirms); set by `run`. */
    this.beforeClose = null;
    this.loop = this.start();
  }

  async start() {
    while (!this.stopping) {
      try {
        // Without noDelay, a get or an ack followed by the next request waits out delayed ACKs (~40 ms).
        const conn = await amqp.connect(this.url, { noDelay: true });
        this.conn = conn;
        const lost = new Promise((resolve) => conn.once('close', resolve));
        conn.on('error', () => {});
        await this.runSession(conn, this);
        this.lostReason = 'connection closed by the broker';
        await lost;
        if (!this.stopping) this.onError(this.name, this.lostReason);
      } catch (e) {
        if (!this.stopping) this.onError(this.name, e && e.message ? e.message : String(e));
      }
      this.conn = null;
      if (!this.stopping) await sleep(1000);
    }
  }

  /** A session part failed (e.g. a channel closed by the broker): report it and reconnect. */
  lose(reason) {
    if (this.stopping || this.conn === null) return;
    this.lostReason = reason;
    this.conn.close().catch(() => {});
  }

  async stop() {
    this.stopping = true;
    const conn = this.conn;
    if (conn !== null) {
      if (this.beforeClose) await this.beforeClose().catch(() => {});
      await closeConnection(conn);
    }
    await withTimeout(this.loop, CLOSE_WAIT_MS);
  }
}
