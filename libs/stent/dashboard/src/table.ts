/**
 * Data tables a keyboard can walk: one row at a time is in the Tab order (roving tabindex); Up/Down,
 * Home/End move between rows, Enter opens the row's link, Space toggles its checkbox.
 */
import { h, type Child } from './dom.js';

export interface Column<T> {
  header: string;
  cell: (item: T) => Child;
  class?: string;
}

export interface TableOptions<T> {
  caption: string;
  columns: Array<Column<T>>;
  items: T[];
  empty: string;
  /** The route a row opens (Enter on the row, or its link). */
  rowKey?: (item: T) => string;
  rowClass?: (item: T) => string;
}

export function dataTable<T>(options: TableOptions<T>): HTMLElement {
  const head = h('thead', {}, h('tr', {}, options.columns.map((column) => h('th', { scope: 'col', class: column.class }, column.header))));
  const rows = options.items.map((item, index) =>
    h(
      'tr',
      { tabindex: index === 0 ? 0 : -1, class: options.rowClass?.(item), 'data-key': options.rowKey?.(item) },
      options.columns.map((column) => h('td', { class: column.class }, column.cell(item))),
    ),
  );
  const body = h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: options.columns.length, class: 'empty' }, options.empty)));
  const table = h('table', { class: 'data' }, h('caption', {}, options.caption), head, body);
  table.addEventListener('keydown', (event) => rowKeys(rows, event));
  table.addEventListener('focusin', (event) => {
    const row = (event.target as HTMLElement).closest('tr');
    if (row && rows.includes(row)) for (const other of rows) other.tabIndex = other === row ? 0 : -1;
  });
  return h('div', { class: 'table-wrap' }, table);
}

function rowKeys(rows: HTMLTableRowElement[], event: KeyboardEvent): void {
  const target = event.target as HTMLElement;
  const row = target.closest('tr') as HTMLTableRowElement | null;
  if (!row) return;
  const index = rows.indexOf(row);
  if (index < 0) return;
  const move = (to: number) => {
    const next = rows[Math.max(0, Math.min(rows.length - 1, to))];
    if (!next) return;
    event.preventDefault();
    next.focus();
  };
  switch (event.key) {
    case 'ArrowDown':
      return move(index + 1);
    case 'ArrowUp':
      return move(index - 1);
    case 'Home':
      if (target === row) move(0);
      return;
    case 'End':
      if (target === row) move(rows.length - 1);
      return;
    case 'Enter': {
      if (target !== row) return;
      const anchor = row.querySelector<HTMLAnchorElement>('a[href]');
      if (anchor) {
        event.preventDefault();
        anchor.click();
      }
      return;
    }
    case ' ': {
      if (target !== row) return;
      const box = row.querySelector<HTMLInputElement>('input[type=checkbox]');
      if (box) {
        event.preventDefault();
        box.click();
      }
      return;
    }
  }
}
