// A tile's moderator tools behind one "⋯ More" button (five buttons over every tile, "Remove" among
// them, were easy to hit by mistake and crowded a phone's screen). The WAI-ARIA menu-button pattern,
// so it works by keyboard and screen reader: Enter, Space or ↓ open it on the first item (↑ on the
// last), ↑/↓/Home/End move, Escape closes it and gives focus back to the button, Tab closes it.
import { translateAttribute, translated } from './i18n.js';

const ACTIONS = [
  ['muteMic', 'mod.mute'],
  ['allowMic', 'mod.allowUnmute'],
  ['stopScreen', 'mod.stopScreen'],
  ['lowerHand', 'mod.lowerHand'],
  ['remove', 'mod.remove'],
];

/** The menu for `participant`'s tile; `act(name, participant)` runs a moderator action. */
export function tileMenu(participant, act) {
  const wrap = Object.assign(document.createElement('div'), { className: 'tile-menu' });
  const menuId = `menu-${participant.id}`;
  const button = document.createElement('button');
  Object.assign(button, { type: 'button', className: 'small mod more' });
  const dots = Object.assign(document.createElement('span'), { textContent: '⋯ ' });
  dots.setAttribute('aria-hidden', 'true');
  button.append(dots, translated('span', 'mod.more'));
  button.setAttribute('aria-haspopup', 'menu');
  button.setAttribute('aria-expanded', 'false');
  button.setAttribute('aria-controls', menuId);
  translateAttribute(button, 'aria-label', 'mod.moreFor', { name: participant.displayName });
  const menu = Object.assign(document.createElement('div'), { id: menuId, className: 'menu', hidden: true });
  menu.setAttribute('role', 'menu');
  translateAttribute(menu, 'aria-label', 'mod.moreFor', { name: participant.displayName });
  const items = ACTIONS.map(([action, key]) => {
    const item = translated('button', key, undefined, { type: 'button', tabIndex: -1, className: action === 'remove' ? 'danger' : '' });
    item.setAttribute('role', 'menuitem');
    item.dataset.action = action;
    item.addEventListener('click', () => {
      close(true);
      act(action, participant);
    });
    return item;
  });
  menu.append(...items);
  wrap.append(button, menu);

  const focusItem = (index) => items.at(index % items.length)?.focus();
  const open = (index) => {
    menu.hidden = false;
    const at = button.getBoundingClientRect();
    menu.style.top = `${at.bottom + 2}px`;
    menu.style.left = `${Math.max(4, at.right - menu.offsetWidth)}px`;
    button.setAttribute('aria-expanded', 'true');
    focusItem(index);
    // Placed once: a scroll would leave it behind, so it closes.
    addEventListener('scroll', () => close(false), { once: true, capture: true });
  };
  function close(refocus) {
    if (menu.hidden) return;
    menu.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    if (refocus) button.focus();
  }
  button.addEventListener('click', () => (menu.hidden ? open(0) : close(false)));
  button.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      open(e.key === 'ArrowDown' ? 0 : -1);
    }
  });
  menu.addEventListener('keydown', (e) => {
    const at = items.indexOf(document.activeElement);
    const moves = { ArrowDown: at + 1, ArrowUp: at - 1 + items.length, Home: 0, End: -1 };
    if (e.key in moves) {
      e.preventDefault();
      focusItem(moves[e.key]);
    } else if (e.key === 'Escape') {
      e.preventDefault();
      close(true);
    } else if (e.key === 'Tab') close(false);
  });
  // A click elsewhere (or focus leaving by mouse) closes it.
  wrap.addEventListener('focusout', (e) => wrap.contains(e.relatedTarget) || close(false));
  return wrap;
}
