/**
 * A route (or an entry URL) → where its node's endpoints are: the SDK connects Socket.IO at the
 * origin with `<path>/socket.io`, and a node probes `<route>/healthz`, whether the route is a URL
 * of its own or a path prefix behind one public host.
 */
import { describe, expect, it } from 'vitest';
import { routePrefix, routeUrl, socketEndpoint } from '../../signaling/protocol/index.js';

describe('route endpoints', () => {
  it('maps a URL without a path to its origin and the default Socket.IO path', () => {
    expect(socketEndpoint('http://10.0.0.12:3000')).toEqual({ origin: 'http://10.0.0.12:3000', path: '/socket.io' });
    expect(socketEndpoint('https://consult.slzl-hospital.example/')).toEqual({
      origin: 'https://consult.slzl-hospital.example',
      path: '/socket.io',
    });
  });

  it('puts a path prefix into the Socket.IO path (never a namespace), with or without trailing slashes', () => {
    for (const url of ['https://consult.example.cn/n2', 'https://consult.example.cn/n2/', 'https://consult.example.cn/n2//?x=1#a'])
      expect(socketEndpoint(url)).toEqual({ origin: 'https://consult.example.cn', path: '/n2/socket.io' });
    expect(socketEndpoint('http://127.0.0.1:8080/sfu/node-3')).toEqual({ origin: 'http://127.0.0.1:8080', path: '/sfu/node-3/socket.io' });
  });

  it('resolves a relative entry URL against the page', () => {
    expect(socketEndpoint('/n1', 'https://consult.example.cn/clinic/room.html')).toEqual({
      origin: 'https://consult.example.cn',
      path: '/n1/socket.io',
    });
    expect(() => socketEndpoint('/n1')).toThrow();
  });

  it('keeps the prefix in the addresses a node is probed at', () => {
    expect(routePrefix('https://consult.example.cn')).toBe('');
    expect(routePrefix('https://consult.example.cn/n2/')).toBe('/n2');
    expect(routeUrl('https://consult.example.cn/n2', 'healthz').href).toBe('https://consult.example.cn/n2/healthz');
    expect(routeUrl('https://consult.example.cn/n2/', '/healthz').href).toBe('https://consult.example.cn/n2/healthz');
    expect(routeUrl('http://10.0.0.12:3000', 'healthz').href).toBe('http://10.0.0.12:3000/healthz');
  });
});
