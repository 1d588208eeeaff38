/// <reference lib="dom" />
// Small DOM helpers shared by the pages. Text only ever goes in through textContent and DOM nodes,
// never as HTML (the pages' CSP enforces it with Trusted Types where the browser has them).

import { humanDuration, TIME_CLAIM_NAMES, type TimeClaim, timeClaims } from './inspect/times.ts';

/** The element with `id`, of the expected type; a missing element is a bug in the page. */
export function byId<T extends HTMLElement = HTMLElement>(
  id: string,
  type: { new (): T; prototype: T } = HTMLElement as unknown as { new (): T; prototype: T },
): T {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`the page has no #${id}`);
  return element;
}

/** Creates an element with a class and children (strings become text nodes). */
export function h(
  tag: string,
  className?: string,
  ...children: (Node | string | null | undefined)[]
): HTMLElement {
  const element = document.createElement(tag);
  if (className) element.className = className;
  for (const child of children) {
    if (child !== null && child !== undefined) element.append(child);
  }
  return element;
}

/**
 * Renders a JSON value as JSON.stringify(value, null, 2) does, with spans to colour keys and
 * values; the text content stays exactly that JSON. NumericDate claims get their date as a title.
 */
export function renderJson(value: unknown, target: HTMLElement): void {
  target.replaceChildren(...jsonNodes(value, 0, undefined));
}

function jsonNodes(value: unknown, depth: number, key: string | undefined): Node[] {
  const pad = '  '.repeat(depth + 1);
  const close = '  '.repeat(depth);
  if (Array.isArray(value)) {
    if (value.length === 0) return [text('[]')];
    const nodes: Node[] = [text('[\n')];
    value.forEach((item, i) => {
      nodes.push(text(pad), ...jsonNodes(item, depth + 1, undefined));
      nodes.push(text(i < value.length - 1 ? ',\n' : '\n'));
    });
    nodes.push(text(`${close}]`));
    return nodes;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return [text('{}')];
    const nodes: Node[] = [text('{\n')];
    entries.forEach(([k, v], i) => {
      nodes.push(text(pad), h('span', 'j-key', JSON.stringify(k)), text(': '));
      nodes.push(...jsonNodes(v, depth + 1, depth === 0 ? k : undefined));
      nodes.push(text(i < entries.length - 1 ? ',\n' : '\n'));
    });
    nodes.push(text(`${close}}`));
    return nodes;
  }
  const literal = JSON.stringify(value) ?? 'null';
  const kind =
    typeof value === 'string'
      ? 'j-str'
      : typeof value === 'number'
        ? 'j-num'
        : typeof value === 'boolean'
          ? 'j-bool'
          : 'j-null';
  const span = h('span', kind, literal);
  if (key !== undefined && typeof value === 'number' && key in TIME_CLAIM_NAMES) {
    const { facts } = timeClaims({ [key]: value });
    if (facts[0])
      span.title = `${TIME_CLAIM_NAMES[key as TimeClaim]}: ${formatDate(facts[0].date)}`;
  }
  return [span];
}

function text(value: string): Text {
  return document.createTextNode(value);
}

/** The three parts of a token, coloured apart, with the dots between them. */
export function renderTokenParts(segments: readonly string[], target: HTMLElement): void {
  const names = ['header', 'payload', 'signature'];
  const nodes: Node[] = [];
  segments.forEach((segment, i) => {
    if (i > 0) nodes.push(h('span', 'tok-dot', '.'));
    const part = h('span', `tok-${names[i] ?? 'extra'}`, segment);
    nodes.push(part);
  });
  target.replaceChildren(...nodes);
}

/** A date in UTC (ISO 8601) and in the reader's time zone. */
export function formatDate(date: Date): string {
  return `${date.toISOString().replace('.000Z', 'Z')} (${date.toLocaleString()})`;
}

/** "in 4 min" or "3 h ago". */
export function relative(date: Date, now = Date.now()): string {
  const ms = date.getTime() - now;
  return ms >= 0 ? `in ${humanDuration(ms)}` : `${humanDuration(ms)} ago`;
}

/** A message in a live region: replaced, so that screen readers announce it. */
export function say(target: HTMLElement, message: string, kind: 'info' | 'error' = 'info'): void {
  target.textContent = message;
  target.dataset.kind = kind;
}
