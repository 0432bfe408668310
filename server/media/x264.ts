/**
 * How this server asks FFmpeg for H.264 whenever it must encode live video (the HLS output, an RTMP
 * encoder's High-profile stream): x264's fast low-latency settings, 4:2:0, a key frame every
 * `keyFrameSeconds` (so each HLS segment, or a viewer joining, starts with one), and a bitrate
 * ceiling. `baseline`: no B-frames, the profile WebRTC receivers all decode.
 */
export function liveH264Args(o: {
  keyFrameSeconds: number;
  bitrate: string;
  maxrate: string;
  bufsize: string;
  baseline?: boolean;
}): string[] {
  return [
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-tune',
    'zerolatency',
    ...(o.baseline ? ['-profile:v', 'baseline', '-bf', '0'] : []),
    '-pix_fmt',
    'yuv420p',
    '-force_key_frames',
    `expr:gte(t,n_forced*${o.keyFrameSeconds})`,
    '-b:v',
    o.bitrate,
    '-maxrate',
    o.maxrate,
    '-bufsize',
    o.bufsize,
  ];
}
