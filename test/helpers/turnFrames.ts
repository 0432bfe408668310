/**
 * Splits a TURN-over-TCP byte stream into its messages (RFC 8656 §12: STUN messages and ChannelData,
 * the latter padded to 4 bytes over TCP), so a test proxy can lose whole relayed packets — as a lossy
 * link would lose UDP datagrams — without breaking the stream. STUN messages (allocations,
 * permissions, channel binds, refreshes) always pass: only relayed media (ChannelData) is dropped.
 */
export class TurnFrameSplitter {
  #buffer: Buffer = Buffer.alloc(0);

  /** The complete frames in what has arrived so far; a partial frame waits for the next chunk. */
  push(chunk: Buffer): { frame: Buffer; channelData: boolean }[] {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    const frames: { frame: Buffer; channelData: boolean }[] = [];
    while (this.#buffer.length >= 4) {
      const channelData = (this.#buffer[0]! & 0xc0) === 0x40;
      const length = this.#buffer.readUInt16BE(2);
      const size = channelData ? 4 + Math.ceil(length / 4) * 4 : 20 + length;
      if (this.#buffer.length < size) break;
      frames.push({ frame: this.#buffer.subarray(0, size), channelData });
      this.#buffer = this.#buffer.subarray(size);
    }
    return frames;
  }
}
