/** The dashboard's entry: hash routes (one HTML page at any mount path), layout, live refresh. */
import { Banner, type Page, type PageContext } from './page.js';
import { clear, h } from './dom.js';
import { overviewPage } from './pages/overview.js';
import { executionsPage } from './pages/executions.js';
import { executionPage } from './pages/execution.js';
import { deadLettersPage, deadLetterPage } from './pages/dead-letters.js';
import { workflowsPage } from './pages/workflows.js';
import { schedulesPage } from './pages/schedules.js';

const ROUTES: Array<{ pattern: RegExp; page: Page; nav: string }> = [
  { pattern: /^\/?$/, page: overviewPage, nav: 'overview' },
  { pattern: /^\/executions\/?$/, page: executionsPage, nav: 'executions' },
  { pattern: /^\/executions\/(.+)$/, page: executionPage, nav: 'executions' },
  { pattern: /^\/dead-letters\/?$/, page: deadLettersPage, nav: 'dead-letters' },
  { pattern: /^\/dead-letters\/(.+)$/, page: deadLetterPage, nav: 'dead-letters' },
  { pattern: /^\/workflows\/?$/, page: workflowsPage, nav: 'workflows' },
  { pattern: /^\/schedules\/?$/, page: schedulesPage, nav: 'schedules' },
];

const main = document.getElementById('main') as HTMLElement;
const banner = new Banner(document.getElementById('banner') as HTMLElement);
let generation = 0;
let timers: number[] = [];

function stopTimers(): void {
  for (const timer of timers) clearTimeout(timer);
  timers = [];
}

async function render(notice?: string): Promise<void> {
  const mine = ++generation;
  stopTimers();
  banner.clear();
  const focusKey = notice === undefined ? null : (document.activeElement as HTMLElement | null)?.dataset.focusKey ?? null;
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path = '/', search = ''] = raw.split('?', 2) as [string, string?];
  const route = ROUTES.find((candidate) => candidate.pattern.test(path));
  for (const anchor of document.querySelectorAll<HTMLAnchorElement>('header nav a')) {
    if (anchor.dataset.nav === route?.nav) anchor.setAttribute('aria-current', 'page');
    else anchor.removeAttribute('aria-current');
  }
  clear(main);
  main.setAttribute('aria-busy', 'true');
  main.appendChild(h('p', { class: 'loading' }, 'Loading…'));
  const context: PageContext = {
    main,
    params: route ? (route.pattern.exec(path)!.slice(1) as string[]).map((part) => decodeURIComponent(part)) : [],
    query: new URLSearchParams(search),
    showError: (error) => {
      if (mine === generation) banner.error(error);
    },
    showNotice: (message) => {
      if (mine === generation) banner.notice(message);
    },
    every: (ms, task) => {
      const tick = async () => {
        if (mine !== generation) return;
        if (!document.hidden && !document.querySelector('dialog[open]')) {
          try {
            await task();
          } catch (error) {
            if (mine === generation) banner.error(error);
          }
        }
        if (mine === generation) timers.push(window.setTimeout(tick, ms));
      };
      timers.push(window.setTimeout(tick, ms));
    },
    current: () => mine === generation,
    reload: (message) => void render(message),
  };
  try {
    if (!route) {
      clear(main);
      main.appendChild(h('h1', { tabindex: -1 }, 'Not found'));
      main.appendChild(h('p', {}, 'No dashboard page at ', h('code', {}, path), '. ', h('a', { href: '#/' }, 'Back to the overview')));
    } else {
      await route.page(context);
    }
  } catch (error) {
    if (mine !== generation) return;
    clear(main);
    main.appendChild(h('h1', { tabindex: -1 }, 'Could not load this page'));
    banner.error(error);
  } finally {
    if (mine === generation) {
      main.removeAttribute('aria-busy');
      if (notice) banner.notice(notice);
      // After an action the focus goes back to the control that has the same role on the new render.
      const again = focusKey ? main.querySelector<HTMLElement>(`[data-focus-key="${CSS.escape(focusKey)}"]`) : null;
      (again ?? main.querySelector<HTMLElement>('h1'))?.focus({ preventScroll: true });
    }
  }
}

// The skip link focuses the content without touching the hash (the hash is the route).
document.querySelector('[data-skip]')?.addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});
window.addEventListener('hashchange', () => void render());
void render();
