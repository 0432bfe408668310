// Recording notice (informed consent): everyone sees when the consultation is recorded and by whom,
// and confirms it; the lead starts and stops it.
import { renderError, translate } from './i18n.js';

const $ = (id) => document.getElementById(id);

export function setupRecording(client, { notice, noticeError }) {
  const rec = client.recording;
  const show = () => {
    const current = rec.current;
    $('recording-banner').hidden = !current;
    if (current) {
      const by = current.startedBy ? current.startedBy.displayName : { key: 'recording.byPolicy' };
      translate($('recording-text'), 'recording.banner', { by, time: { time: current.startedAt } });
      $('ack-recording').hidden = false;
    }
    translate($('record'), current ? 'recording.stop' : 'recording.start');
  };
  $('record').hidden = !client.can('record');
  $('record').onclick = () => (rec.active ? rec.stop() : rec.start()).then(show, noticeError);
  $('ack-recording').onclick = () => rec.acknowledge().then(() => ($('ack-recording').hidden = true), noticeError);
  rec.on('started', show);
  rec.on('stopped', (_id, by) => (show(), by ? notice('recording.stoppedBy', { by: by.displayName }) : notice('recording.stopped')));
  // The server's message (English) stays as detail under the translated sentence.
  rec.on('error', (message) => renderError($('notices'), { message }, { key: 'recording.problem' }));
  show();
}
