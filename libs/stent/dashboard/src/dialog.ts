/**
 * Confirmation dialogs: a modal <dialog> (the rest of the page is inert), focus kept inside with Tab and
 * Shift+Tab, Escape or the cancel button dismisses, and focus returns to what opened it.
 */
import { h, uniqueId, type Child } from './dom.js';

export interface DialogOptions {
  title: string;
  body: Child[];
  confirmLabel: string;
  /** A destructive action: the confirm button is styled as such and the cancel button takes the first focus. */
  danger?: boolean;
  /** Checked on confirm: a message keeps the dialog open and is announced. */
  validate?: () => string | null;
  /** What gets focus first (default: the first field, else the cancel button for danger, else confirm). */
  initialFocus?: HTMLElement;
}

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export function trapFocus(container: HTMLElement, event: KeyboardEvent): void {
  if (event.key !== 'Tab') return;
  const items = [...container.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((item) => item.offsetParent !== null || item === document.activeElement);
  if (items.length === 0) return;
  const first = items[0]!;
  const last = items[items.length - 1]!;
  const active = document.activeElement as HTMLElement | null;
  if (event.shiftKey && (active === first || !container.contains(active))) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && (active === last || !container.contains(active))) {
    event.preventDefault();
    first.focus();
  }
}

/** Opens a modal dialog; resolves true when confirmed, false when dismissed. */
export function openDialog(options: DialogOptions): Promise<boolean> {
  const opener = document.activeElement as HTMLElement | null;
  const titleId = uniqueId('dialog-title');
  const problem = h('p', { class: 'dialog-problem', role: 'alert' });
  const cancel = h('button', { type: 'button', class: 'secondary', 'data-action': 'dismiss' }, 'Cancel');
  const confirm = h('button', { type: 'submit', class: options.danger ? 'danger' : 'primary', 'data-action': 'confirm' }, options.confirmLabel);
  const form = h('form', { method: 'dialog' }, h('h2', { id: titleId }, options.title), h('div', { class: 'dialog-body' }, options.body), problem, h('div', { class: 'dialog-buttons' }, cancel, confirm));
  const dialog = h('dialog', { 'aria-labelledby': titleId, 'aria-modal': 'true' }, form);
  document.body.appendChild(dialog);

  return new Promise<boolean>((resolve) => {
    let settled = false;
    const close = (confirmed: boolean) => {
      if (settled) return;
      settled = true;
      dialog.close();
      dialog.remove();
      if (opener && document.contains(opener)) opener.focus();
      resolve(confirmed);
    };
    dialog.addEventListener('keydown', (event) => trapFocus(dialog, event));
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      close(false);
    });
    cancel.addEventListener('click', () => close(false));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const message = options.validate?.() ?? null;
      if (message) {
        problem.textContent = message;
        return;
      }
      close(true);
    });
    dialog.showModal();
    const firstField = dialog.querySelector<HTMLElement>('.dialog-body input, .dialog-body textarea, .dialog-body select');
    (options.initialFocus ?? firstField ?? (options.danger ? cancel : confirm)).focus();
  });
}

/** A labelled form field for dialogs and filters. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLElement {
  const id = control.id || uniqueId('field');
  control.id = id;
  let hintElement: HTMLElement | null = null;
  if (hint) {
    hintElement = h('small', { id: `${id}-hint`, class: 'hint' }, hint);
    control.setAttribute('aria-describedby', hintElement.id);
  }
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hintElement);
}
