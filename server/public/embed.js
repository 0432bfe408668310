// The consultation inside a clinic's own page: <iframe src="https://media…/embed?token=…&parentOrigin=https://clinic…"
// allow="camera; microphone; autoplay; display-capture">. The frame joins with the token and talks to
// its host page with postMessage — events out (joined, participantJoined/Left, waiting, disconnected,
// error), commands in (leave, setMicrophoneMuted, setCameraOff) — only with the origin named by
// parentOrigin (the server lets only that origin frame the page, and only an allowed one).
const PROTOCOL = 'telemed-embed';
const parentOrigin = new URLSearchParams(location.search).get('parentOrigin');

const person = (p) => ({ id: p.id, displayName: p.displayName, role: p.role, site: p.site });

function post(type, data = {}) {
  if (window.parent !== window && parentOrigin) window.parent.postMessage({ protocol: PROTOCOL, type, ...data }, parentOrigin);
}

/** Commands the host may send; each answers with a `result` carrying the command's id. */
function commands(demo, $) {
  const toggleTo = async (button, source, wanted) => {
    if (demo.paused?.[source] !== wanted) await button.onclick?.();
  };
  return {
    leave: () => demo.client?.leave(),
    setMicrophoneMuted: ({ muted }) => toggleTo($('toggle-mic'), 'microphone', Boolean(muted)),
    setCameraOff: ({ off }) => toggleTo($('toggle-cam'), 'camera', Boolean(off)),
  };
}

/** Wires the frame to its host: called once by demo.js when the page is opened as /embed. */
export function setupEmbed(demo, $) {
  document.body.classList.add('embedded');
  const run = commands(demo, $);
  window.addEventListener('message', (event) => {
    // Only the host page, and only in this protocol: anything else is not ours to act on.
    if (event.source !== window.parent || event.origin !== parentOrigin || event.data?.protocol !== PROTOCOL) return;
    const { command, id } = event.data;
    const act = Object.hasOwn(run, command) ? run[command] : null;
    if (!act) return post('result', { id, ok: false, error: `unknown command: ${String(command)}` });
    Promise.resolve(act(event.data)).then(
      () => post('result', { id, ok: true }),
      (e) => post('result', { id, ok: false, error: e?.message ?? String(e) }),
    );
  });
  post('ready');
  return {
    waiting: () => post('waiting'),
    joined(client) {
      post('joined', { self: person(client.self), room: client.room, participants: client.participants.map(person) });
      client.on('participantJoined', (p) => post('participantJoined', { participant: person(p) }));
      client.on('participantLeft', (p, reason) => post('participantLeft', { participant: person(p), reason }));
      client.on('disconnected', ({ reason, message }) => post('disconnected', { reason, message }));
    },
    failed: (e) => post('error', { code: e?.code ?? null, message: e?.message ?? String(e) }),
  };
}
