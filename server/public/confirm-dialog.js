// Asking before something that cannot be undone (removing a person), in the page's language and
// operable by keyboard: a modal <dialog> traps focus, starts on "Cancel" (the safe answer), Tab
// reaches the action, Enter chooses, Escape cancels; focus returns to where it was.
import { translated } from './i18n.js';

/** Resolves true if the user chose `actionKey`, false on Cancel or Escape. */
export function confirmDialog(messageKey, params, actionKey) {
  const dialog = Object.assign(document.createElement('dialog'), { className: 'confirm' });
  const message = translated('p', messageKey, params, { id: `confirm-${Date.now()}` });
  dialog.setAttribute('aria-labelledby', message.id);
  const cancel = translated('button', 'confirm.cancel', undefined, { type: 'button', autofocus: true });
  const action = translated('button', actionKey, undefined, { type: 'button', className: 'danger' });
  const buttons = Object.assign(document.createElement('div'), { className: 'buttons' });
  buttons.append(cancel, action);
  dialog.append(message, buttons);
  document.body.append(dialog);
  return new Promise((resolve) => {
    cancel.addEventListener('click', () => dialog.close('cancel'));
    action.addEventListener('click', () => dialog.close('confirm'));
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'confirm');
      dialog.remove();
    });
    dialog.showModal();
  });
}
