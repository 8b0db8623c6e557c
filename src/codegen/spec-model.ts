// The AMQP spec JSON as the renderer reads it, the naming of generated identifiers, and the
// context each section of the generated codec is rendered with.


export interface SpecArgument {
  name: string;
  type?: string;
  domain?: string;
}
export interface SpecMethod {
  id: number;
  name: string;
  arguments: SpecArgument[];
  synchronous?: boolean;
  content?: boolean;
}
export interface SpecClass {
  id: number;
  name: string;
  methods: SpecMethod[];
  properties?: SpecArgument[];
}
export interface SpecConstant {
  name: string;
  value: number;
  class?: string;
}
export interface Spec {
  domains: [string, string][];
  constants: SpecConstant[];
  classes: SpecClass[];
}

export const pascal = (s: string): string =>
  s
    .split(/[-.]/)
    .map((w) => (w.length > 0 ? (w[0] as string).toUpperCase() + w.slice(1) : w))
    .join('');
export const camel = (s: string): string => {
  const p = pascal(s);
  return p.length > 0 ? (p[0] as string).toLowerCase() + p.slice(1) : p;
};
export const upper = (s: string): string => s.replace(/[-.]/g, '_').toUpperCase();
export const hex = (n: number): string => '0x' + n.toString(16).padStart(8, '0');

export const TS_TYPE: Record<string, string> = {
  bit: 'boolean',
  octet: 'number',
  short: 'number',
  long: 'number',
  longlong: 'number',
  timestamp: 'number',
  shortstr: 'string',
  longstr: 'Buffer | string',
  table: 'FieldTable',
};

export function parseSpec(specText: string): Spec {
  const parsed: unknown = JSON.parse(specText);
  if (!isSpec(parsed)) throw new Error('spec: missing domains, constants or classes');
  return parsed;
}

/** What a section of the codec is rendered from: the spec, the argument type resolver and the line writer. */
export interface RenderContext {
  readonly spec: Spec;
  readonly typeOf: (a: SpecArgument) => string;
  readonly w: (s?: string) => void;
}

function isSpec(x: unknown): x is Spec {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Record<string, unknown>;
  return Array.isArray(o['domains']) && Array.isArray(o['constants']) && Array.isArray(o['classes']);
}
