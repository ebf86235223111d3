/** How values read on the page: durations, times, JSON, states. */
import { h } from './dom.js';
import type { ErrorView } from './views.js';

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

export function time(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

/** A <time> element: local time shown, ISO in datetime and title. */
export function timeCell(iso: string | null | undefined): HTMLElement | string {
  if (!iso) return '—';
  return h('time', { datetime: iso, title: iso }, time(iso));
}

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  return `${duration(Math.max(0, now - new Date(iso).getTime()))} ago`;
}

export function json(value: unknown): string {
  if (value === undefined) return '—';
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A block of JSON, labelled for screen readers. */
export function jsonBlock(label: string, value: unknown): HTMLElement {
  return h('pre', { class: 'json', tabindex: 0, 'aria-label': label }, json(value));
}

export function stateBadge(state: string): HTMLElement {
  return h('span', { class: `badge state-${state}` }, state.replace('_', ' '));
}

export function errorLine(error: ErrorView | null | undefined): string {
  if (!error) return '';
  return `${error.name ?? 'Error'}${error.code ? ` [${error.code}]` : ''}: ${error.message ?? ''}`;
}

/** An error with its stack and causes, each stack folded in a <details>. */
export function errorBlock(error: ErrorView): HTMLElement {
  const parts: HTMLElement[] = [];
  let current: ErrorView | undefined = error;
  let depth = 0;
  while (current && depth < 5) {
    parts.push(
      h(
        'div',
        { class: 'error-item' },
        h('p', { class: 'error-message' }, depth ? 'Caused by ' : '', errorLine(current)),
        current.stack ? h('details', { open: depth === 0 }, h('summary', {}, 'Stack'), h('pre', { class: 'stack', tabindex: 0 }, current.stack)) : null,
      ),
    );
    current = current.cause;
    depth += 1;
  }
  return h('div', { class: 'error-block' }, parts);
}

export const plural = (count: number, word: string, many = `${word}s`) => `${count} ${count === 1 ? word : many}`;
