// Broadcast and training views: viewer count, Q&A (ask; approve, hide, answer), the stage, HLS.
const $ = (id) => document.getElementById(id);

export function setupAudience(client, { notice, tiles, publish }) {
  const a = client.audience;
  const manager = client.can('manage_questions');
  $('audience').hidden = false;
  $('ask-form').hidden = !client.can('ask_question');
  $('hls-toggle').hidden = !client.can('moderate');
  $('people-panel').hidden = !client.can('moderate');

  const showCount = () => ($('viewer-count').textContent = `· ${a.viewerCount} watching`);
  const showHls = () => {
    $('hls').hidden = !a.hlsUrl;
    $('hls-link').textContent = a.hlsUrl ?? '';
    $('hls-link').href = a.hlsUrl ?? '#';
    $('hls-toggle').textContent = a.hlsUrl ? 'Stop HLS' : 'Start HLS';
  };
  const renderQuestions = () => {
    const list = $('questions');
    list.replaceChildren();
    for (const q of a.questions) {
      if (q.status === 'hidden' && !manager) continue;
      const li = document.createElement('li');
      li.dataset.questionId = q.id;
      li.append(
        `${q.askedBy.displayName}: ${q.text}`,
        Object.assign(document.createElement('span'), { className: 'status', textContent: q.status }),
      );
      if (manager) {
        for (const [label, act] of [
          ['Approve', 'approve'],
          ['Hide', 'hide'],
          ['Answered', 'markAnswered'],
        ]) {
          const b = Object.assign(document.createElement('button'), { type: 'button', className: 'small', textContent: label });
          b.onclick = () => a[act](q.id).then(renderQuestions, (e) => notice(e.message));
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
      li.append(`${client.raisedHands.includes(p.id) ? '✋ ' : ''}${p.displayName} · ${p.site.name}`);
      const b = Object.assign(document.createElement('button'), {
        type: 'button',
        className: 'small mod',
        textContent: onStage ? 'Send back' : 'Bring on stage',
      });
      b.onclick = () => (onStage ? a.sendOffStage(p.id) : a.bringOnStage(p.id)).then(renderPeople, (e) => notice(e.message));
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
      notice('You are on stage: your camera and microphone go to everyone.');
      publish().catch((e) => notice(e.message));
    } else {
      notice('You are back in the audience.');
      tiles.remove(`${client.self.id}`);
    }
  });
  $('hls-toggle').onclick = () => (a.hlsUrl ? a.stopHls() : a.startHls()).then(showHls, (e) => notice(e.message));
  $('ask-form').onsubmit = (event) => {
    event.preventDefault();
    const input = $('ask-form').elements.namedItem('text');
    a.ask(input.value).then(
      () => {
        input.value = '';
        notice('Thank you: your question goes to the moderator.');
      },
      (e) => notice(e.message),
    );
  };
}
