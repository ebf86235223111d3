/** What a page gets from the router: where to render, its route, and the shared error banner. */
import { ApiError } from './api.js';
import { clear, h } from './dom.js';

export interface PageContext {
  main: HTMLElement;
  params: string[];
  query: URLSearchParams;
  /** Shows an API error (or any error) in the banner; nothing is swallowed. */
  showError(error: unknown): void;
  /** Shows a success message in the banner. */
  showNotice(message: string): void;
  /** Runs `task` every `ms` while this page is shown and the tab visible (live refresh). */
  every(ms: number, task: () => Promise<void>): void;
  /** Is this page still the one on screen (an answer arriving after navigation is dropped)? */
  current(): boolean;
  /** Renders this route again (after an action), then shows `notice`. */
  reload(notice?: string): void;
}

export type Page = (context: PageContext) => Promise<void>;

export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.describe();
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** The banner under the navigation: errors (role=alert) and notices (role=status). */
export class Banner {
  constructor(private readonly element: HTMLElement) {}

  error(error: unknown): void {
    this.show('error', describeError(error));
  }

  notice(message: string): void {
    this.show('notice', message);
  }

  clear(): void {
    clear(this.element);
    this.element.hidden = true;
  }

  private show(kind: 'error' | 'notice', text: string): void {
    clear(this.element);
    this.element.hidden = false;
    this.element.className = `banner banner-${kind}`;
    this.element.appendChild(
      h(
        'div',
        { role: kind === 'error' ? 'alert' : 'status', class: 'banner-text' },
        kind === 'error' ? h('strong', {}, 'Error: ') : null,
        text,
      ),
    );
    this.element.appendChild(h('button', { type: 'button', class: 'link', 'aria-label': 'Dismiss message', onclick: () => this.clear() }, '×'));
  }
}

/** The page's heading: focused after navigation so screen readers announce the new page. */
export function heading(text: string, ...extra: Array<Node | string | null>): HTMLElement {
  document.title = `${text} · Stent`;
  return h('h1', { tabindex: -1 }, text, ...extra);
}

/** Pagination under a table: "1–25 of 300", previous and next. */
export function pager(total: number, offset: number, limit: number, go: (offset: number) => void): HTMLElement {
  const first = total === 0 ? 0 : offset + 1;
  const last = Math.min(total, offset + limit);
  return h(
    'nav',
    { class: 'pager', 'aria-label': 'Pages' },
    h('span', { class: 'pager-range', 'aria-live': 'polite' }, `${first}–${last} of ${total}`),
    h('button', { type: 'button', class: 'secondary', disabled: offset <= 0, onclick: () => go(Math.max(0, offset - limit)) }, '← Previous'),
    h('button', { type: 'button', class: 'secondary', disabled: offset + limit >= total, onclick: () => go(offset + limit) }, 'Next →'),
  );
}
