// Speaker view (one person large, the others in a strip below) and gallery view (everyone the same
// size), chosen with two buttons and remembered. A shared screen (imaging, an ECG, a lab report) is
// always the large one, with the cameras in the strip. The large tile in speaker view follows the
// SDK's active speaker (at join: `client.activeSpeaker`; then its `activeSpeaker` events).
const STORAGE_KEY = 'telemed-demo-view';
const VIEWS = ['speaker', 'gallery'];

function storedView() {
  try {
    const view = localStorage.getItem(STORAGE_KEY);
    return VIEWS.includes(view) ? view : null;
  } catch {
    return null; // storage blocked: the default view
  }
}

export class Layout {
  #speakerId = null;
  #mainId = null;

  /** `container`: the tiles; `switcher`: the element holding the buttons with data-view. */
  constructor(container, client, switcher) {
    this.container = container;
    this.client = client;
    this.switcher = switcher;
    this.view = storedView() ?? 'gallery';
    this.#speakerId = client.activeSpeaker?.id ?? null;
    for (const b of switcher.querySelectorAll('[data-view]')) b.addEventListener('click', () => this.setView(b.dataset.view));
    // Tiles come and go (joins, leaves, screen shares): place them again each time.
    this.observer = new MutationObserver(() => this.update());
    this.observer.observe(container, { childList: true });
    client.on('activeSpeaker', (p) => this.setSpeaker(p?.id ?? null));
    this.setView(this.view, { remember: false });
  }

  setView(view, { remember = true } = {}) {
    this.view = VIEWS.includes(view) ? view : 'gallery';
    if (remember) {
      try {
        localStorage.setItem(STORAGE_KEY, this.view);
      } catch {
        // storage blocked: the choice lasts for this page only
      }
    }
    for (const b of this.switcher.querySelectorAll('[data-view]')) b.setAttribute('aria-pressed', String(b.dataset.view === this.view));
    this.update();
  }

  setSpeaker(participantId) {
    this.#speakerId = participantId;
    this.update();
  }

  /** Marks the large tile (`.main`) and the view on the container; CSS does the rest. */
  update() {
    const tiles = [...this.container.querySelectorAll(':scope > .tile')];
    const main = this.#choose(tiles);
    this.#mainId = main?.id ?? null;
    this.container.dataset.view = this.view;
    this.container.classList.toggle(
      'has-screen',
      tiles.some((t) => t.classList.contains('screen')),
    );
    for (const tile of tiles) tile.classList.toggle('main', tile === main);
  }

  /**
   * The large tile: a shared screen (the latest); in speaker view else the active speaker if that is
   * someone else (one's own face is never the large one), else whoever was large before, else the
   * first other person, else oneself.
   */
  #choose(tiles) {
    const screens = tiles.filter((t) => t.classList.contains('screen'));
    if (screens.length) return screens.at(-1);
    if (this.view !== 'speaker') return null;
    const others = tiles.filter((t) => !t.classList.contains('self'));
    return (
      others.find((t) => t.dataset.participantId === this.#speakerId) ??
      others.find((t) => t.id === this.#mainId) ??
      others[0] ??
      tiles[0] ??
      null
    );
  }
}
