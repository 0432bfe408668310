// "Click to enable sound": a viewer who arrives by link has not touched the page yet, and the browser
// refuses to play the consultation's sound until they do. The SDK says so (audioPlaybackBlocked); the
// banner's button is the user gesture that lets `startAudio()` play every remote audio element.
export function setupSound(client, banner, button, { noticeError }) {
  const show = () => (banner.hidden = !client.audioBlocked);
  client.on('audioPlaybackBlocked', show);
  client.on('audioPlaybackStarted', show);
  button.onclick = () => client.startAudio().then(show, noticeError);
  show();
}
