// Broadcast and training views: viewer count, Q&A (ask; approve, hide, answer), the stage, HLS.
import { translate, translated } from './i18n.js';

const $ = (id) => document.getElementById(id);

export function setupAudience(client, { notice, noticeError, tiles, publish }) {
  const a = client.audience;
  const manager = client.can('manage_questions');
  $('audience').hidden = false;
  $('ask-form').hidden = !client.can('ask_question');
  $('hls-toggle').hidden = !client.can('moderate');
  $('people-panel').hidden = !client.can('moderate');

  const showCount = () => translate($('viewer-count'), 'audience.watching', { count: a.viewerCount });
  const showHls = () => {
    $('hls').hidden = !a.hlsUrl;
    $('hls-link').textContent = a.hlsUrl ?? '';
    $('hls-link').href = a.hlsUrl ?? '#';
    translate($('hls-toggle'), a.hlsUrl ? 'audience.stopHls' : 'audience.startHls');
  };
  const renderQuestions = () => {
    const list = $('questions');
    list.replaceChildren();
    for (const q of a.questions) {
      if (q.status === 'hidden' && !manager) continue;
      const li = document.createElement('li');
      li.dataset.questionId = q.id;
      li.append(
        translated('span', 'question.entry', { name: q.askedBy.displayName, text: q.text }),
        translated('span', `question.${q.status}`, undefined, { className: 'status' }),
      );
      if (manager) {
        for (const [key, act] of [
          ['question.approve', 'approve'],
          ['question.hide', 'hide'],
          ['question.markAnswered', 'markAnswered'],
        ]) {
          const b = translated('button', key, undefined, { type: 'button', className: 'small' });
          b.onclick = () => a[act](q.id).then(renderQuestions, noticeError);
          li.append(b);
        }
      }
      list.append(li);
    }
  };
  const renderPeople = () => {
    if (!client.can('moderate')) return;
    const list = $('people');
    list.replaceChildren();
    for (const p of client.participants) {
      if (['presenter', 'lead_specialist'].includes(p.role)) continue;
      const onStage = a.onStage.includes(p.id);
      const li = document.createElement('li');
      if (client.raisedHands.includes(p.id)) li.append('✋ ');
      li.append(translated('span', 'stage.entry', { name: p.displayName, site: p.site.name }));
      const b = translated('button', onStage ? 'stage.sendBack' : 'stage.bring', undefined, { type: 'button', className: 'small mod' });
      b.onclick = () => (onStage ? a.sendOffStage(p.id) : a.bringOnStage(p.id)).then(renderPeople, noticeError);
      li.append(b);
      list.append(li);
    }
  };

  showCount();
  showHls();
  renderQuestions();
  renderPeople();
  a.on('viewerCount', showCount);
  a.on('hlsChanged', showHls);
  a.on('questionUpdated', renderQuestions);
  a.on('stageChanged', renderPeople);
  for (const e of ['participantJoined', 'participantLeft', 'handRaised']) client.on(e, renderPeople);
  client.on('permissionsChanged', () => {
    if (client.can('publish_audio')) {
      notice('notice.onStage');
      publish().catch(noticeError);
    } else {
      notice('notice.backInAudience');
      tiles.remove(`${client.self.id}`);
    }
  });
  $('hls-toggle').onclick = () => (a.hlsUrl ? a.stopHls() : a.startHls()).then(showHls, noticeError);
  $('ask-form').onsubmit = (event) => {
    event.preventDefault();
    const input = $('ask-form').elements.namedItem('text');
    a.ask(input.value).then(() => {
      input.value = '';
      notice('notice.questionSent');
    }, noticeError);
  };
}
