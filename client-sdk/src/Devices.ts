/**
 * The capture and playback devices of this computer, for choosing before joining and switching
 * during the call. Browsers show device names only after the user allowed capture once (until then
 * the lists have entries without labels).
 */

export interface DeviceList {
  cameras: MediaDeviceInfo[];
  microphones: MediaDeviceInfo[];
  /** Audio outputs; choose one for an element with `setSpeaker` (where the browser supports it). */
  speakers: MediaDeviceInfo[];
}

export async function listDevices(): Promise<DeviceList> {
  const all = typeof navigator !== 'undefined' && navigator.mediaDevices ? await navigator.mediaDevices.enumerateDevices() : [];
  return {
    cameras: all.filter((d) => d.kind === 'videoinput'),
    microphones: all.filter((d) => d.kind === 'audioinput'),
    speakers: all.filter((d) => d.kind === 'audiooutput'),
  };
}

/** Plays `element`'s sound on the speaker `deviceId`; false where the browser cannot choose (Safari, Firefox before 116). */
export async function setSpeaker(element: HTMLMediaElement, deviceId: string): Promise<boolean> {
  const withSink = element as HTMLMediaElement & { setSinkId?: (id: string) => Promise<void> };
  if (typeof withSink.setSinkId !== 'function') return false;
  await withSink.setSinkId(deviceId);
  return true;
}

/** Constraints for a chosen device, keeping the caller's other wishes. */
export function onDevice(deviceId: string | undefined, constraints: MediaTrackConstraints = {}): MediaTrackConstraints {
  return deviceId ? { ...constraints, deviceId: { exact: deviceId } } : constraints;
}
