// A one-line progress bar on stderr (one line per step when stderr is not a terminal).

const WIDTH = 30;

export class Progress {
  constructor(total) {
    this.total = total;
    this.done = 0;
    this.label = '';
    this.frac = 0;
    this.t0 = Date.now();
    this.tty = process.stderr.isTTY;
  }

  start(label) {
    this.label = label;
    this.frac = 0;
    if (this.tty) this.draw();
    else process.stderr.write(`[${this.done + 1}/${this.total}] ${label}\n`);
  }

  update(frac) {
    this.frac = frac;
    if (this.tty) this.draw();
  }

  finish(note = '') {
    this.done++;
    this.frac = 0;
    if (this.tty) this.draw();
    if (note) this.log(note);
  }

  log(line) {
    if (this.tty) process.stderr.write('\r\x1b[K');
    process.stderr.write(`${line}\n`);
    if (this.tty) this.draw();
  }

  draw() {
    const f = Math.min(1, (this.done + this.frac) / this.total);
    const filled = Math.round(f * WIDTH);
    const elapsed = (Date.now() - this.t0) / 1000;
    const eta = f > 0.01 ? Math.round((elapsed / f) * (1 - f)) : null;
    const etaText = eta === null ? '' : ` eta ${Math.floor(eta / 60)}m${String(eta % 60).padStart(2, '0')}s`;
    const bar = `${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}`;
    const line = `[${bar}] ${String(Math.round(f * 100)).padStart(3)}% ${this.done}/${this.total} ${this.label}${etaText}`;
    process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns || 120) - 1)}`);
  }

  end() {
    if (this.tty) process.stderr.write('\n');
  }
}
