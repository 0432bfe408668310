/** The chair's tools, as `client.moderation`: lobby, lock, mute, stop screen share, remove, hands, end. */
import type { SignalingConnection } from './SignalingConnection.js';

type ModeratedSource = 'microphone' | 'camera';

export class Moderation {
  readonly #signaling: SignalingConnection;

  constructor(signaling: SignalingConnection) {
    this.#signaling = signaling;
  }

  async lockRoom(locked = true): Promise<void> {
    await this.#signaling.request('setRoomLocked', { locked });
  }

  async admit(participantId: string): Promise<void> {
    await this.#signaling.request('admit', { participantId });
  }

  async decline(participantId: string): Promise<void> {
    await this.#signaling.request('decline', { participantId });
  }

  async muteParticipant(participantId: string, source: ModeratedSource): Promise<void> {
    await this.#signaling.request('muteParticipant', { participantId, source });
  }

  async allowUnmute(participantId: string, source: ModeratedSource): Promise<void> {
    await this.#signaling.request('allowUnmute', { participantId, source });
  }

  async stopScreenShare(participantId: string): Promise<void> {
    await this.#signaling.request('stopScreenShare', { participantId });
  }

  async removeParticipant(participantId: string): Promise<void> {
    await this.#signaling.request('removeParticipant', { participantId });
  }

  async lowerHand(participantId: string): Promise<void> {
    await this.#signaling.request('setHandRaised', { raised: false, participantId });
  }

  /** Ends the consultation for everyone (permission `end_room`). */
  async endConsultation(): Promise<void> {
    await this.#signaling.request('endRoom', {});
  }
}
