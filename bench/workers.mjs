// Parent side of the load processes: forks load-worker.mjs and turns its IPC messages into
// awaitable replies, each bounded by a timeout. Workers are ended only by their own PID.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WORKER = fileURLToPath(new URL('./load-worker.mjs', import.meta.url));

export class Worker {
  constructor(label) {
    this.label = label;
    this.inbox = [];
    this.waiters = [];
    this.error = null;
    this.exited = false;
    /** Called with each 'progress' message (consumed count) instead of queueing it. */
    this.onProgress = null;
    this.child = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m) => this.onMessage(m));
    this.child.on('exit', (code) => {
      this.exited = true;
      this.fail(new Error(`${this.label} exited (code ${code})`));
    });
    this.child.on('error', (e) => this.fail(e));
  }

  onMessage(m) {
    if (m.type === 'error') {
      this.fail(new Error(`${this.label}: ${m.message}`));
      return;
    }
    if (m.type === 'progress') {
      if (this.onProgress) this.onProgress(m);
      return;
    }
    const i = this.waiters.findIndex((w) => w.type === m.type);
    if (i >= 0) this.waiters.splice(i, 1)[0].resolve(m);
    else this.inbox.push(m);
  }

  fail(err) {
    this.error ||= err;
    for (const w of this.waiters.splice(0)) w.reject(this.error);
  }

  /** Resolves with the next message of `type` (possibly one that already arrived). */
  waitFor(type, timeoutMs) {
    const i = this.inbox.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]);
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const j = this.waiters.indexOf(waiter);
        if (j >= 0) this.waiters.splice(j, 1);
        reject(new Error(`${this.label}: no '${type}' within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      const waiter = {
        type,
        resolve: (m) => (clearTimeout(timer), resolve(m)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
      this.waiters.push(waiter);
    });
  }

  post(msg) {
    if (!this.exited && this.child.connected) this.child.send(msg);
  }

  request(msg, replyType, timeoutMs = 30000) {
    const p = this.waitFor(replyType, timeoutMs);
    if (!this.exited) this.child.send(msg);
    return p;
  }

  kill() {
    if (!this.exited && this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** CPU % of one core used by a worker between two 'mark' replies. */
export function workerCpuPercent(m0, m1) {
  const used = m1.cpu.user + m1.cpu.system - (m0.cpu.user + m0.cpu.system);
  const wall = (m1.at - m0.at) * 1000;
  return wall > 0 ? (100 * used) / wall : null;
}
