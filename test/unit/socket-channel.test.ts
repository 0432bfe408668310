/**
 * SocketChannel: notifications to a connection wait while its join is answered and follow the
 * answer in order — `sessionEnded` too; overlapping holds release only at the last; a superseded
 * connection is dropped without what waited.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SocketChannel, type NotifiableSocket } from '../../server/signaling/SocketChannel.js';

function fakeSocket(): NotifiableSocket & { sent: string[]; dropped: number } {
  const socket = {
    sent: [] as string[],
    dropped: 0,
    emit(event: string, payload: unknown) {
      socket.sent.push(`${event} ${JSON.stringify(payload)}`);
      return true;
    },
    disconnect() {
      socket.dropped++;
      return socket;
    },
  };
  return socket;
}

afterEach(() => vi.useRealTimers());

describe('SocketChannel', () => {
  it('sends at once when nothing holds it', () => {
    const socket = fakeSocket();
    new SocketChannel(socket).notify('viewerCount', { count: 1 });
    expect(socket.sent).toEqual(['viewerCount {"count":1}']);
  });

  it('holds while a join is answered, then sends in order, the end notice included', () => {
    vi.useFakeTimers();
    const socket = fakeSocket();
    const channel = new SocketChannel(socket);
    channel.hold();
    channel.notify('viewerCount', { count: 1 });
    channel.notify('viewerCount', { count: 2 });
    channel.end('removed', '王芳 removed you');
    expect(socket.sent).toEqual([]);
    channel.release();
    expect(socket.sent).toEqual([
      'viewerCount {"count":1}',
      'viewerCount {"count":2}',
      'sessionEnded {"reason":"removed","message":"王芳 removed you"}',
    ]);
    expect(socket.dropped).toBe(0); // the notice gets its moment to arrive
    vi.advanceTimersByTime(100);
    expect(socket.dropped).toBe(1);
  });

  it('overlapping holds (a second join refused while one runs) release at the last; an extra release is harmless', () => {
    const socket = fakeSocket();
    const channel = new SocketChannel(socket);
    channel.hold();
    channel.hold();
    channel.notify('viewerCount', { count: 3 });
    channel.release();
    expect(socket.sent).toEqual([]);
    channel.release();
    expect(socket.sent).toHaveLength(1);
    channel.release();
    channel.notify('viewerCount', { count: 4 });
    expect(socket.sent).toHaveLength(2);
  });

  it('a superseded connection is dropped at once, without what waited', () => {
    const socket = fakeSocket();
    const channel = new SocketChannel(socket);
    channel.hold();
    channel.notify('viewerCount', { count: 5 });
    channel.close();
    channel.release();
    expect(socket.sent).toEqual([]);
    expect(socket.dropped).toBe(1);
  });

  it("answer(): a join's answer is sent before what was told while it ran; other requests hold nothing", async () => {
    const socket = fakeSocket();
    const channel = new SocketChannel(socket);
    let finish!: (answer: string) => void;
    const sent = new Promise<void>((resolve) =>
      channel.answer(
        'join',
        () => new Promise<string>((r) => (finish = r)),
        (answer) => {
          socket.sent.push(`answer ${answer}`);
          resolve();
        },
      ),
    );
    channel.notify('viewerCount', { count: 6 });
    finish('joined');
    await sent;
    await Promise.resolve(); // the release follows the send
    expect(socket.sent).toEqual(['answer joined', 'viewerCount {"count":6}']);

    channel.answer(
      'leave',
      () => new Promise<string>(() => undefined),
      () => undefined,
    );
    channel.notify('viewerCount', { count: 7 });
    expect(socket.sent.at(-1)).toBe('viewerCount {"count":7}');
  });
});
