// Topic exchange routing: a trie over dot-separated binding-key words with `*` and `#` wildcards.
//
// RabbitMQ's rules: words are separated by '.', an empty key has zero words, and
// every other split yields a word, empty ones included ('a..b' is three words,
// 'a.' is 'a' and ''). '*' matches exactly one word, '#' zero or more words.

import type { FieldTable } from '../../protocol/field-table.js';
import { BindingSet, decrementDestination, incrementDestination, type DestinationCounts } from './binding-set.js';
import type { BindingEntry, RoutingTable, DestinationSink } from './routing-table.js';

const LITERAL = 0;
const STAR = 1;
const HASH = 2;
type EdgeKind = typeof LITERAL | typeof STAR | typeof HASH;

/**
 * Words kept in the reusable split buffer between calls. Routing keys are
 * shortstrs (at most 255 bytes, so at most 256 words), but CC/BCC keys are
 * longstrs; past this, the buffer is shrunk back so one huge key is not kept.
 */
const SCRATCH_KEEP = 256;

class TopicNode<D> {
  readonly parent: TopicNode<D> | null;
  readonly kind: EdgeKind;
  /** The literal word on the edge from parent (unused for wildcard edges). */
  readonly word: string;
  words: Map<string, TopicNode<D>> | null;
  star: TopicNode<D> | null;
  hash: TopicNode<D> | null;
  /** Destinations of the bindings whose pattern ends here. */
  destinations: DestinationCounts<D> | null;
  /** For '#' nodes: the route call that last entered it, and the lowest word index it was entered at. */
  epoch: number;
  from: number;

  constructor(parent: TopicNode<D> | null, kind: EdgeKind, word: string) {
    this.parent = parent;
    this.kind = kind;
    this.word = word;
    this.words = null;
    this.star = null;
    this.hash = null;
    this.destinations = null;
    this.epoch = 0;
    this.from = 0;
  }

  isEmpty(): boolean {
    return this.destinations === null && this.words === null && this.star === null && this.hash === null;
  }
}

/** Splits a key into words the way RabbitMQ does: '' is no words, otherwise split on every '.'. */
export function topicWords(key: string): string[] {
  return key.length === 0 ? [] : key.split('.');
}

/**
 * The trie path of a binding key. Runs of '#' collapse to one ('#.#' matches
 * exactly what '#' does), which keeps matching polynomial for patterns like '#.#.#'.
 */
function patternPath(bindingKey: string): string[] {
  const words = topicWords(bindingKey);
  const path: string[] = [];
  for (const w of words) {
    if (w === '#' && path.length > 0 && path[path.length - 1] === '#') continue;
    path.push(w);
  }
  return path;
}

export class TopicRoutingTable<D> implements RoutingTable<D> {
  private readonly all: BindingSet<D>;
  private readonly root: TopicNode<D>;
  /** Reused buffer for the words of the key being routed; route() is synchronous and not reentrant. */
  private readonly scratch: string[];
  /** Counts route calls, so '#' nodes can tell whether they were already expanded during this one. */
  private epoch: number;

  constructor() {
    this.all = new BindingSet();
    this.root = new TopicNode<D>(null, LITERAL, '');
    this.scratch = [];
    this.epoch = 0;
  }

  get size(): number {
    return this.all.size;
  }

  bind(destination: D, routingKey: string, args: FieldTable): boolean {
    if (this.all.add(destination, routingKey, args) === undefined) return false;
    let node = this.root;
    for (const w of patternPath(routingKey)) node = child(node, w);
    if (node.destinations === null) node.destinations = new Map();
    incrementDestination(node.destinations, destination);
    return true;
  }

  unbind(destination: D, routingKey: string, args: FieldTable): boolean {
    if (this.all.remove(destination, routingKey, args) === undefined) return false;
    this.unindex(destination, routingKey);
    return true;
  }

  route(routingKey: string, _headers: FieldTable | undefined, into: DestinationSink<D>): void {
    const n = this.split(routingKey);
    this.epoch++;
    this.match(this.root, 0, n, into);
    if (this.scratch.length > SCRATCH_KEEP) this.scratch.length = SCRATCH_KEEP;
  }

  removeDestination(destination: D): number {
    let n = 0;
    for (const entry of this.all.removeDestination(destination)) {
      this.unindex(destination, entry.routingKey);
      n++;
    }
    return n;
  }

  bindings(): Iterable<BindingEntry<D>> {
    return this.all.entries();
  }

  /** Trie nodes below the root; lets tests check that unbinding prunes what it no longer needs. */
  nodeCount(): number {
    let n = 0;
    const stack: TopicNode<D>[] = [this.root];
    for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
      if (node.words !== null) for (const c of node.words.values()) stack.push(c);
      if (node.star !== null) stack.push(node.star);
      if (node.hash !== null) stack.push(node.hash);
      if (node !== this.root) n++;
    }
    return n;
  }

  /** Splits into the scratch buffer; returns the word count. */
  private split(key: string): number {
    if (key.length === 0) return 0;
    const words = this.scratch;
    let n = 0;
    let start = 0;
    for (;;) {
      const dot = key.indexOf('.', start);
      if (dot < 0) {
        words[n++] = key.slice(start);
        return n;
      }
      words[n++] = key.slice(start, dot);
      start = dot + 1;
    }
  }

  /** Adds the destinations of every pattern under node that matches words [i, n). */
  private match(node: TopicNode<D>, i: number, n: number, into: DestinationSink<D>): void {
    const hash = node.hash;
    if (hash !== null) {
      // '#' swallows words i..j-1, for every j including none at all. Entering it
      // at i explores every j >= i, so a later entry (through another '#' earlier
      // in the pattern) only needs the positions not yet explored: this keeps
      // patterns like '#.a.#.a.#.b' linear per node instead of polynomial in the key length.
      let end = n;
      if (hash.epoch === this.epoch) {
        if (hash.from <= i) end = -1;
        else end = hash.from - 1;
      } else {
        hash.epoch = this.epoch;
      }
      if (end >= i) hash.from = i;
      for (let j = i; j <= end; j++) this.match(hash, j, n, into);
    }
    if (i === n) {
      const destinations = node.destinations;
      if (destinations !== null) for (const d of destinations.keys()) into.add(d);
      return;
    }
    if (node.words !== null) {
      const next = node.words.get(this.scratch[i] as string);
      if (next !== undefined) this.match(next, i + 1, n, into);
    }
    if (node.star !== null) this.match(node.star, i + 1, n, into);
  }

  private unindex(destination: D, bindingKey: string): void {
    let node: TopicNode<D> | undefined = this.root;
    for (const w of patternPath(bindingKey)) {
      node = w === '#' ? node.hash ?? undefined : w === '*' ? node.star ?? undefined : node.words?.get(w);
      if (node === undefined) return;
    }
    if (node.destinations === null) return;
    if (decrementDestination(node.destinations, destination)) node.destinations = null;
    prune(node);
  }
}

function child<D>(node: TopicNode<D>, word: string): TopicNode<D> {
  if (word === '#') return (node.hash ??= new TopicNode<D>(node, HASH, word));
  if (word === '*') return (node.star ??= new TopicNode<D>(node, STAR, word));
  if (node.words === null) node.words = new Map();
  let next = node.words.get(word);
  if (next === undefined) {
    next = new TopicNode<D>(node, LITERAL, word);
    node.words.set(word, next);
  }
  return next;
}

/** Detaches empty nodes from node up to the root, so unbinding leaves no garbage in the trie. */
function prune<D>(node: TopicNode<D>): void {
  let current: TopicNode<D> = node;
  while (current.parent !== null && current.isEmpty()) {
    const parent: TopicNode<D> = current.parent;
    if (current.kind === HASH) parent.hash = null;
    else if (current.kind === STAR) parent.star = null;
    else if (parent.words !== null) {
      parent.words.delete(current.word);
      if (parent.words.size === 0) parent.words = null;
    }
    current = parent;
  }
}
