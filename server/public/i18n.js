// The page's language: zh-CN or en, from ?lang=, else the user's earlier choice, else the browser.
// Every translated element remembers its key (data-i18n, data-i18n-params, data-i18n-<attribute>), so
// switching language re-renders the whole page, dynamic text included, without each view re-rendering.
import { MESSAGES } from './i18n-messages.js';

export const LANGUAGES = ['zh-CN', 'en'];
const STORAGE_KEY = 'telemed-demo-lang';
const PREFIX = 'data-i18n-';
const ARGS = 'data-i18n-args-';

/** zh, zh-CN, zh-TW, zh-Hans… → zh-CN; en, en-US… → en; anything else → null. */
export function languageOf(tag) {
  const lower = String(tag ?? '').toLowerCase();
  return lower.startsWith('zh') ? 'zh-CN' : lower.startsWith('en') ? 'en' : null;
}

function stored() {
  try {
    return languageOf(localStorage.getItem(STORAGE_KEY));
  } catch {
    return null; // storage blocked (private mode, embedded page): fall through to the browser
  }
}

/** Chinese first: a browser that lists any Chinese gets Chinese; everyone else English. */
function fromBrowser() {
  const tags = navigator.languages?.length ? navigator.languages : [navigator.language];
  return tags.some((tag) => languageOf(tag) === 'zh-CN') ? 'zh-CN' : 'en';
}

/** A page's own words beside the shared ones (the admin dashboard's, admin-messages.js). */
const pageMessages = { 'zh-CN': {}, en: {} };

/** Adds a page's own dictionaries (same shape as MESSAGES); call before setupLanguageSwitch. */
export function addMessages(messages) {
  for (const lang of LANGUAGES) Object.assign(pageMessages[lang], messages[lang]);
  dict = catalog(current);
}

/** Role and site-level labels come from the SDK (the same ones the case record uses). */
function catalog(lang) {
  const labels = window.TelemedSDK?.LABELS?.[lang];
  const dict = { ...MESSAGES[lang], ...pageMessages[lang] };
  for (const [role, label] of Object.entries(labels?.roles ?? {})) dict[`role.${role}`] = label;
  for (const [level, label] of Object.entries(labels?.siteLevels ?? {})) dict[`siteLevel.${level}`] = label;
  return dict;
}

let current = languageOf(new URLSearchParams(location.search).get('lang')) ?? stored() ?? fromBrowser();
let dict = catalog(current);

export const language = () => current;

/**
 * The text for `key` with `{name}` parameters filled in. A parameter may be `{ key, params }` (itself
 * translated: a role label, a media source) or `{ time }` (a time of day in this language). A missing
 * key shows as itself, which the tests catch.
 */
export function t(key, params = {}) {
  const text = dict[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => value(params[name]));
}

function value(param) {
  if (param === undefined || param === null) return '';
  if (typeof param === 'object' && 'key' in param) return t(param.key, param.params);
  if (typeof param === 'object' && 'time' in param) return new Date(param.time).toLocaleTimeString(current);
  return String(param);
}

/** Whether the current dictionary has `key`. */
export const has = (key) => key in dict;

/**
 * Sets `el`'s text to `key` translated, and remembers the key so a language switch re-renders it.
 * A null key empties the element.
 */
export function translate(el, key, params) {
  if (!key) {
    delete el.dataset.i18n;
    delete el.dataset.i18nParams;
    el.textContent = '';
    return el;
  }
  el.dataset.i18n = key;
  if (params) el.dataset.i18nParams = JSON.stringify(params);
  else delete el.dataset.i18nParams;
  el.textContent = t(key, params);
  return el;
}

/** A new element with translated text, e.g. a button on a tile. */
export function translated(tag, key, params, props = {}) {
  return translate(Object.assign(document.createElement(tag), props), key, params);
}

/**
 * Sets a translated attribute (placeholder, aria-label, title) and remembers its key — and its
 * parameters, if any (e.g. the name in "More actions for {name}"), under data-i18n-args-<attribute>.
 */
export function translateAttribute(el, attribute, key, params) {
  el.setAttribute(`${PREFIX}${attribute}`, key);
  if (params) el.setAttribute(`${ARGS}${attribute}`, JSON.stringify(params));
  el.setAttribute(attribute, t(key, params));
}

export const roleLabel = (role) => ({ key: `role.${role}` });
export const siteLevelLabel = (level) => ({ key: `siteLevel.${level}` });

/** Re-renders every translated element under `root`. */
export function applyTranslations(root = document) {
  for (const el of root.querySelectorAll('*')) {
    if (el.dataset.i18n) el.textContent = t(el.dataset.i18n, el.dataset.i18nParams ? JSON.parse(el.dataset.i18nParams) : undefined);
    for (const { name, value: key } of [...el.attributes]) {
      if (!name.startsWith(PREFIX) || name === `${PREFIX}params` || name.startsWith(ARGS)) continue;
      const attribute = name.slice(PREFIX.length);
      const args = el.getAttribute(`${ARGS}${attribute}`);
      if (attribute === 'value') translateDefaultValue(el, key);
      else el.setAttribute(attribute, t(key, args ? JSON.parse(args) : undefined));
    }
  }
}

/** A demo default (a sample name) follows the language, unless the user typed something else. */
function translateDefaultValue(input, key) {
  if (!input.value || LANGUAGES.some((lang) => MESSAGES[lang][key] === input.value)) input.value = t(key);
}

/** Switches the page's language; `remember` keeps the choice for the next visit. */
export function setLanguage(lang, { remember = false } = {}) {
  current = languageOf(lang) ?? current;
  dict = catalog(current);
  document.documentElement.lang = current;
  if (remember) {
    try {
      localStorage.setItem(STORAGE_KEY, current);
    } catch {
      // storage blocked: the choice lasts for this page only
    }
  }
  applyTranslations();
  for (const b of document.querySelectorAll('[data-lang]')) b.setAttribute('aria-pressed', String(b.dataset.lang === current));
}

/** Wires the 中文 / English buttons (elements with data-lang) and renders the page in its language. */
export function setupLanguageSwitch() {
  for (const b of document.querySelectorAll('[data-lang]'))
    b.addEventListener('click', () => setLanguage(b.dataset.lang, { remember: true }));
  setLanguage(current);
}

const DEVICE_ERRORS = ['NotAllowedError', 'NotFoundError', 'NotReadableError'];

/**
 * What to tell the user about `error`: a sentence in their language chosen by the error's code (the
 * SDK's ProtocolError codes, the browser's device errors), and the server's own message as detail.
 */
export function describeError(error) {
  const code = error?.code;
  const reason = error?.details?.reason;
  const detail = error?.message ?? String(error);
  if (reason && dict[`error.reason.${reason}`]) return { key: `error.reason.${reason}`, detail };
  if (code && dict[`error.${code}`]) return { key: `error.${code}`, detail };
  if (DEVICE_ERRORS.includes(error?.name)) return { key: `error.${error.name}`, detail };
  return { key: 'error.generic', detail };
}

/** Renders `error` into `el`: the translated sentence, then the server's message, smaller (it is English). */
export function renderError(el, error, { key, params } = describeError(error)) {
  const detail = error?.message ? ` ${error.message}` : '';
  el.replaceChildren(
    translated('span', key, params),
    ...(detail ? [Object.assign(document.createElement('small'), { className: 'detail', lang: 'en', textContent: detail })] : []),
  );
}
