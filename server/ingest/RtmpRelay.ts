import { ProtocolError } from '../../signaling/protocol/index.js';
import type { Logger } from '../logger.js';
import type { Ingest, IngestMedia } from './Ingest.js';

export interface RtmpOptions {
  host: string;
  portRange: { min: number; max: number };
  ffmpegPath: string;
}

export class RtmpRelay implements IngestMedia {
  readonly videoMode = null;
  readonly url = '';
  static start(_ingest: Ingest, _key: string, _options: RtmpOptions, _log: Logger): Promise<RtmpRelay> {
    return Promise.reject(new ProtocolError('UNAVAILABLE', 'RTMP ingest is not available on this server yet'));
  }
  endProgramme(): void {}
}
