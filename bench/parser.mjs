// Frame-parser micro-benchmark: frames/s of warren's FrameReader (dist/protocol/frame-reader.js)
// next to a loop that only walks frame headers, both fed (a) over a loopback socket by a child
// process blasting pre-encoded publish frames, which shows how close ingest comes to what the
// runtime's socket path allows, and (b) from memory, which shows the parser's own ceiling.
//
//   node bench/parser.mjs [--seconds N] [--body BYTES] [--rounds N] [--results]
// --results replaces the frame-parser section of bench/RESULTS.md with the table.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { publishBytes } from './amqp-frames.mjs';
import { writeParserSection } from './results-md.mjs';
import { median } from './stats.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Size of the buffer the blaster writes repeatedly and of the in-memory chunks (a typical socket read). */
const CHUNK = 64 * 1024;
/** frame_max given to the reader: RabbitMQ's default, as warren negotiates. */
const FRAME_MAX = 131072;

function args() {
  const o = { seconds: 3, body: 16, rounds: 3 };
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '--seconds') o.seconds = Number(a[++i]);
    else if (a[i] === '--body') o.body = Number(a[++i]);
    else if (a[i] === '--rounds') o.rounds = Number(a[++i]);
    else if (a[i] === '--blast') o.blast = Number(a[++i]);
    else if (a[i] === '--results') o.results = true;
  }
  return o;
}

/** One chunk of whole publish triples (method, header, body frames); returns it and its frame count. */
function frames(body) {
  const { bytes } = publishBytes(1, '', 'parser-bench', Buffer.alloc(body, 0x61));
  const copies = Math.max(1, Math.floor(CHUNK / bytes.length));
  return { buf: Buffer.concat(new Array(copies).fill(bytes)), frames: copies * 3 };
}

/** Child: write the chunk to the socket as fast as it drains, for `seconds`. */
function blast(port, seconds, body) {
  const { buf } = frames(body);
  const sock = net.connect({ host: '127.0.0.1', port, noDelay: true });
  const end = performance.now() + seconds * 1000;
  const pump = () => {
    while (performance.now() < end) {
      if (!sock.write(buf)) return void sock.once('drain', pump);
    }
    sock.end();
  };
  sock.on('connect', pump);
  sock.on('error', () => process.exit(1));
  sock.on('close', () => process.exit(0));
}

/** Counts frames by walking 7-byte headers across chunks; copies at most a split header. */
class HeaderWalker {
  constructor() {
    this.frames = 0;
    this.skip = 0; // bytes of the current frame still to pass over
    this.head = Buffer.alloc(7);
    this.headFill = 0;
  }
  push(chunk) {
    let pos = 0;
    const len = chunk.length;
    if (this.skip > 0) {
      const n = Math.min(this.skip, len);
      this.skip -= n;
      pos = n;
    }
    if (this.headFill > 0 && pos < len) {
      const take = Math.min(7 - this.headFill, len - pos);
      chunk.copy(this.head, this.headFill, pos, pos + take);
      this.headFill += take;
      pos += take;
      if (this.headFill < 7) return;
      this.headFill = 0;
      this.frames++;
      const rest = this.head.readUInt32BE(3) + 1;
      const n = Math.min(rest, len - pos);
      this.skip = rest - n;
      pos += n;
    }
    while (this.skip === 0 && pos < len) {
      if (len - pos < 7) {
        chunk.copy(this.head, 0, pos, len);
        this.headFill = len - pos;
        return;
      }
      const total = chunk.readUInt32BE(pos + 3) + 8;
      this.frames++;
      if (pos + total > len) {
        this.skip = pos + total - len;
        return;
      }
      pos += total;
    }
  }
}

async function loadWarrenReader() {
  const file = path.join(ROOT, 'dist/protocol/frame-reader.js');
  if (!fs.existsSync(file)) return null;
  const mod = await import(pathToFileURL(file).href);
  if (typeof mod.FrameReader !== 'function') return null;
  return () => {
    const counter = { frames: 0 };
    const handler = {
      onMethodFrame: () => void counter.frames++,
      onHeaderFrame: () => void counter.frames++,
      onBodyFrame: () => void counter.frames++,
      onBodyParts: () => void counter.frames++,
      onHeartbeatFrame: () => void counter.frames++,
    };
    const reader = new mod.FrameReader(handler, FRAME_MAX);
    return { push: (c) => reader.push(c), get frames() { return counter.frames; } };
  };
}

/** Socket run: a child blasts for `seconds`; returns frames/s, MB/s and this process's CPU %. */
function overSocket(makeParser, seconds, body) {
  return new Promise((resolve, reject) => {
    const parser = makeParser();
    let bytes = 0;
    let t0 = 0;
    let cpu0 = null;
    const srv = net.createServer((sock) => {
      t0 = performance.now();
      cpu0 = process.cpuUsage();
      sock.on('data', (c) => {
        bytes += c.length;
        parser.push(c);
      });
      sock.on('end', () => {
        const secs = (performance.now() - t0) / 1000;
        const cpu = process.cpuUsage(cpu0);
        srv.close();
        resolve({ fps: parser.frames / secs, mbps: bytes / secs / 2 ** 20, cpu: (100 * (cpu.user + cpu.system)) / (secs * 1e6) });
      });
    });
    srv.listen(0, '127.0.0.1', () => {
      const child = fork(fileURLToPath(import.meta.url), ['--blast', String(srv.address().port), '--seconds', String(seconds), '--body', String(body)]);
      child.on('error', reject);
      setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), (seconds + 30) * 1000).unref();
    });
  });
}

/** In-memory run: the same 64 KiB chunk pushed repeatedly for `seconds`. */
function inMemory(makeParser, seconds, body) {
  const { buf } = frames(body);
  const parser = makeParser();
  const t0 = performance.now();
  let bytes = 0;
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 64; i++) parser.push(buf);
    bytes += 64 * buf.length;
  }
  const secs = (performance.now() - t0) / 1000;
  return { fps: parser.frames / secs, mbps: bytes / secs / 2 ** 20, cpu: 100 };
}

async function main() {
  const o = args();
  if (o.blast) return blast(o.blast, o.seconds, o.body);
  const warren = await loadWarrenReader();
  const modes = [['header walk (bare socket)', () => new HeaderWalker()]];
  if (warren) modes.push(['warren FrameReader', warren]);
  else console.log('dist/protocol/frame-reader.js not found: build warren first; measuring the header walk only');
  const results = new Map();
  for (let r = 0; r < o.rounds; r++) {
    for (const [name, make] of modes) {
      for (const [where, run] of [['socket', overSocket], ['memory', inMemory]]) {
        const key = `${name} | ${where}`;
        process.stderr.write(`\rround ${r + 1}/${o.rounds}: ${key}\x1b[K`);
        const res = await run(make, o.seconds, o.body);
        if (!results.has(key)) results.set(key, []);
        results.get(key).push(res);
      }
    }
  }
  process.stderr.write('\r\x1b[K');
  const lines = [
    `Publish triples (method, header, ${o.body} B body), ${o.rounds} round(s) of ${o.seconds} s, medians; Node ${process.version}.`,
    '`socket`: a child process blasts pre-encoded frames over loopback; `memory`: one 64 KiB chunk pushed repeatedly.',
    '',
    '| reader | input | frames/s | MiB/s | reader CPU % |',
    '|---|---|---|---|---|',
  ];
  for (const [key, rs] of results) {
    const [name, where] = key.split(' | ');
    const m = (k) => median(rs.map((x) => x[k]));
    lines.push(`| ${name} | ${where} | ${(m('fps') / 1e6).toFixed(2)}M | ${m('mbps').toFixed(0)} | ${m('cpu').toFixed(0)} |`);
  }
  const text = lines.join('\n');
  console.log(text);
  if (o.results) {
    const cmd = `node bench/parser.mjs ${process.argv.slice(2).join(' ')}`;
    const md = `${text}\n\nCommand: \`${cmd}\`, ${new Date().toISOString().slice(0, 10)}.`;
    writeParserSection(path.join(ROOT, 'bench/RESULTS.md'), md);
    console.log('wrote the frame-parser section of bench/RESULTS.md');
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
