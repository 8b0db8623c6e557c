// Generated codec, decoder part: readers of the argument types and decodeMethod.

import { camel, hex, type RenderContext } from './spec-model.js';

/** Appends the decoder section of the generated codec. */
export function renderDecoder({ spec, typeOf, w }: RenderContext): void {
  w('function readShortstr(b: Buffer, c: { pos: number }): string {');
  w('  const len = b[c.pos] as number;');
  w('  const start = c.pos + 1;');
  w('  if (start + len > b.length) throw new RangeError("shortstr overruns frame");');
  w('  c.pos = start + len;');
  w("  const s = b.toString('utf8', start, start + len);");
  w('  // Invalid UTF-8 decodes to U+FFFD (3 bytes each): a name that would no longer fit a shortstr when');
  w('  // echoed back (deliver, declare-ok, consume-ok) is refused here rather than failing mid-delivery.');
  w("  if (len > 85 && Buffer.byteLength(s) > 255) throw new RangeError('shortstr is not valid UTF-8');");
  w('  return s;');
  w('}');
  w('function readLongstr(b: Buffer, c: { pos: number }): Buffer {');
  w('  const len = b.readUInt32BE(c.pos);');
  w('  const start = c.pos + 4;');
  w('  if (start + len > b.length) throw new RangeError("longstr overruns frame");');
  w('  c.pos = start + len;');
  w('  return Buffer.from(b.subarray(start, start + len));');
  w('}');
  w('function readLonglong(b: Buffer, pos: number): number {');
  w('  return b.readUInt32BE(pos) * 0x100000000 + b.readUInt32BE(pos + 4);');
  w('}');
  w();
  w('/**');
  w(' * Decode a method frame payload (class id, method id, arguments). Throws RangeError');
  w(' * on truncated input; returns undefined for an unknown class/method.');
  w(' */');
  w('export function decodeMethod(b: Buffer): Method | undefined {');
  w('  const id = b.readUInt32BE(0);');
  w('  const c = { pos: 4 };');
  w('  switch (id) {');
  for (const cl of spec.classes) {
    for (const m of cl.methods) {
      const idHex = hex((cl.id << 16) | m.id);
      w(`    case ${idHex}: {`);
      const fields: string[] = [];
      let bitIndex = -1;
      let group = 0;
      for (const a of m.arguments) {
        const t = typeOf(a);
        const f = camel(a.name);
        fields.push(f);
        if (t === 'bit') {
          if (bitIndex === -1 || bitIndex === 8) {
            group++;
            w(`      const bits${group} = b.readUInt8(c.pos); c.pos += 1;`);
            bitIndex = 0;
          }
          w(`      const v_${f} = (bits${group} & ${1 << bitIndex}) !== 0;`);
          bitIndex++;
          continue;
        }
        bitIndex = -1;
        switch (t) {
          case 'octet':
            w(`      const v_${f} = b.readUInt8(c.pos); c.pos += 1;`);
            break;
          case 'short':
            w(`      const v_${f} = b.readUInt16BE(c.pos); c.pos += 2;`);
            break;
          case 'long':
            w(`      const v_${f} = b.readUInt32BE(c.pos); c.pos += 4;`);
            break;
          case 'longlong':
          case 'timestamp':
            w(`      const v_${f} = readLonglong(b, c.pos); c.pos += 8;`);
            break;
          case 'shortstr':
            w(`      const v_${f} = readShortstr(b, c);`);
            break;
          case 'longstr':
            w(`      const v_${f} = readLongstr(b, c);`);
            break;
          case 'table':
            w(`      const v_${f} = decodeTable(b, c, b.length);`);
            break;
        }
      }
      w(`      return { id: ${idHex}${fields.map((n) => `, ${n}: v_${n}`).join('')} };`);
      w('    }');
    }
  }
  w('    default:');
  w('      return undefined;');
  w('  }');
  w('}');
  w();
}
