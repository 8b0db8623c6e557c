// Generated codec, basic properties part: the BasicProperties type, its decoder and encoder.

import { camel, hex, TS_TYPE, type RenderContext } from './spec-model.js';

/** Appends the properties section of the generated codec. */
export function renderProperties({ spec, typeOf, w }: RenderContext): void {
  const basic = spec.classes.find((c) => c.name === 'basic');
  const props = basic?.properties ?? [];
  w('// ---- basic content-header properties');
  w('export interface BasicProperties {');
  for (const p of props) w(`  ${camel(p.name)}?: ${TS_TYPE[typeOf(p)] === 'Buffer | string' ? 'string' : TS_TYPE[typeOf(p)]} | undefined;`);
  w('}');
  w();
  w('/** Decode property flags and values from a content-header payload starting at pos (the flags). */');
  w('export function decodeBasicProperties(b: Buffer, pos: number): BasicProperties {');
  w('  const flags = b.readUInt16BE(pos);');
  w('  const c = { pos: pos + 2 };');
  w('  const p: BasicProperties = {};');
  props.forEach((p, i) => {
    const bit = 1 << (15 - i);
    const t = typeOf(p);
    const f = camel(p.name);
    let read: string;
    if (t === 'shortstr') read = 'readShortstr(b, c)';
    else if (t === 'octet') read = 'b.readUInt8(c.pos++)';
    else if (t === 'table') read = 'decodeTable(b, c, b.length)';
    else read = '(c.pos += 8, readLonglong(b, c.pos - 8))';
    w(`  if ((flags & ${hex(bit)}) !== 0) p.${f} = ${read};`);
  });
  w('  return p;');
  w('}');
  w();
  w('/** Bytes of the property flags and values. */');
  w('export function basicPropertiesSize(p: BasicProperties): number {');
  w('  let n = 2;');
  for (const p of props) {
    const t = typeOf(p);
    const f = `p.${camel(p.name)}`;
    let size: string;
    if (t === 'shortstr') size = `shortstrSize(${f})`;
    else if (t === 'octet') size = '1';
    else if (t === 'table') size = `tableSize(${f})`;
    else size = '8';
    w(`  if (${f} !== undefined) n += ${size};`);
  }
  w('  return n;');
  w('}');
  w();
  w('/** Write property flags and values at pos; returns the position after them. */');
  w('export function writeBasicProperties(b: Buffer, pos: number, p: BasicProperties): number {');
  w('  let flags = 0;');
  w('  let q = pos + 2;');
  props.forEach((p, i) => {
    const bit = 1 << (15 - i);
    const t = typeOf(p);
    const f = `p.${camel(p.name)}`;
    let write: string;
    if (t === 'shortstr') write = `q = writeShortstr(b, q, ${f})`;
    else if (t === 'octet') write = `b[q++] = ${f}`;
    else if (t === 'table') write = `q = writeTable(b, q, ${f})`;
    else write = `q = writeLonglong(b, q, ${f})`;
    w(`  if (${f} !== undefined) {`);
    w(`    flags |= ${hex(bit)};`);
    w(`    ${write};`);
    w('  }');
  });
  w('  b.writeUInt16BE(flags, pos);');
  w('  return q;');
  w('}');
  w();
}
