// Recording notice (informed consent): everyone sees when the consultation is recorded and by whom,
// and confirms it; the lead starts and stops it.
const $ = (id) => document.getElementById(id);

export function setupRecording(client, notice) {
  const rec = client.recording;
  const show = () => {
    const current = rec.current;
    $('recording-banner').hidden = !current;
    if (current) {
      const by = current.startedBy ? current.startedBy.displayName : 'the hospital policy';
      $('recording-text').textContent =
        `This consultation is being recorded for the patient's case record ` +
        `(started by ${by} at ${new Date(current.startedAt).toLocaleTimeString()}).`;
      $('ack-recording').hidden = false;
    }
    $('record').textContent = current ? 'Stop recording' : 'Start recording';
  };
  $('record').hidden = !client.can('record');
  $('record').onclick = () => (rec.active ? rec.stop() : rec.start()).then(show, (e) => notice(e.message));
  $('ack-recording').onclick = () =>
    rec.acknowledge().then(
      () => ($('ack-recording').hidden = true),
      (e) => notice(e.message),
    );
  rec.on('started', show);
  rec.on('stopped', (_id, by) => (show(), notice(`Recording stopped${by ? ` by ${by.displayName}` : ''}.`)));
  rec.on('error', (message) => notice(`Recording problem: ${message}`));
  show();
}
