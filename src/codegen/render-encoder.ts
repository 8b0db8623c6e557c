// Generated codec, encoder part: sizes and writers of the argument types and encodeMethod.

import { camel, hex, type RenderContext } from './spec-model.js';

/** Appends the encoder section of the generated codec. */
export function renderEncoder({ spec, typeOf, w }: RenderContext): void {
  w('function longstrSize(v: Buffer | string): number {');
  w("  return typeof v === 'string' ? Buffer.byteLength(v) : v.length;");
  w('}');
  w('/**');
  w(' * ASCII names (nearly all of them) are copied char by char: cheaper than a native utf8 write for');
  w(' * short strings. Callers that did not size the string first rely on the 255-byte check here.');
  w(' */');
  w('export function writeShortstr(b: Buffer, pos: number, v: string): number {');
  w('  const len = v.length;');
  w('  if (len > 255) throw new RangeError(`shortstr of ${len} chars exceeds 255 bytes`);');
  w('  for (let i = 0; i < len; i++) {');
  w('    const c = v.charCodeAt(i);');
  w('    if (c > 0x7f) {');
  w("      const n = b.write(v, pos + 1, 'utf8');");
  w('      if (n > 255) throw new RangeError(`shortstr of ${n} bytes exceeds 255`);');
  w('      b[pos] = n;');
  w('      return pos + 1 + n;');
  w('    }');
  w('    b[pos + 1 + i] = c;');
  w('  }');
  w('  b[pos] = len;');
  w('  return pos + 1 + len;');
  w('}');
  w('function writeLongstr(b: Buffer, pos: number, v: Buffer | string): number {');
  w("  const n = typeof v === 'string' ? b.write(v, pos + 4, 'utf8') : v.copy(b, pos + 4);");
  w('  b.writeUInt32BE(n, pos);');
  w('  return pos + 4 + n;');
  w('}');
  w('export function writeLonglong(b: Buffer, pos: number, v: number): number {');
  w('  b.writeUInt32BE(Math.floor(v / 0x100000000), pos);');
  w('  b.writeUInt32BE(v >>> 0, pos + 4);');
  w('  return pos + 8;');
  w('}');
  w('function shortstrSize(v: string): number {');
  w('  const n = Buffer.byteLength(v);');
  w('  if (n > 255) throw new RangeError(`shortstr of ${n} bytes exceeds 255`);');
  w('  return 1 + n;');
  w('}');
  w();
  w('/** Bytes of a method payload: 4 bytes of ids plus the arguments. */');
  w('export function methodPayloadSize(m: Method): number {');
  w('  switch (m.id) {');
  for (const cl of spec.classes) {
    for (const m of cl.methods) {
      const parts: string[] = ['4'];
      let inBits = false;
      let bitCount = 0;
      for (const a of m.arguments) {
        const t = typeOf(a);
        const f = `m.${camel(a.name)}`;
        if (t === 'bit') {
          if (!inBits || bitCount === 8) {
            parts.push('1');
            bitCount = 0;
          }
          inBits = true;
          bitCount++;
          continue;
        }
        inBits = false;
        if (t === 'octet') parts.push('1');
        else if (t === 'short') parts.push('2');
        else if (t === 'long') parts.push('4');
        else if (t === 'longlong' || t === 'timestamp') parts.push('8');
        else if (t === 'shortstr') parts.push(`shortstrSize(${f})`);
        else if (t === 'longstr') parts.push(`4 + longstrSize(${f})`);
        else if (t === 'table') parts.push(`tableSize(${f})`);
      }
      w(`    case ${hex((cl.id << 16) | m.id)}:`);
      w(`      return ${parts.join(' + ')};`);
    }
  }
  w('  }');
  w('}');
  w();
  w('/** Write a method payload at pos; returns the position after it. */');
  w('export function writeMethodPayload(b: Buffer, pos: number, m: Method): number {');
  w('  b.writeUInt32BE(m.id, pos);');
  w('  let p = pos + 4;');
  w('  switch (m.id) {');
  for (const cl of spec.classes) {
    for (const m of cl.methods) {
      w(`    case ${hex((cl.id << 16) | m.id)}: {`);
      let bitIndex = -1;
      for (const a of m.arguments) {
        const t = typeOf(a);
        const f = `m.${camel(a.name)}`;
        if (t === 'bit') {
          if (bitIndex === -1 || bitIndex === 8) {
            w('      b[p++] = 0;');
            bitIndex = 0;
          }
          w(`      if (${f}) b[p - 1] = (b[p - 1] as number) | ${1 << bitIndex};`);
          bitIndex++;
          continue;
        }
        bitIndex = -1;
        if (t === 'octet') w(`      b[p++] = ${f};`);
        else if (t === 'short') w(`      p = b.writeUInt16BE(${f}, p);`);
        else if (t === 'long') w(`      p = b.writeUInt32BE(${f}, p);`);
        else if (t === 'longlong' || t === 'timestamp') w(`      p = writeLonglong(b, p, ${f});`);
        else if (t === 'shortstr') w(`      p = writeShortstr(b, p, ${f});`);
        else if (t === 'longstr') w(`      p = writeLongstr(b, p, ${f});`);
        else if (t === 'table') w(`      p = writeTable(b, p, ${f});`);
      }
      w('      return p;');
      w('    }');
    }
  }
  w('  }');
  w('}');
  w();
}
