import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcpProxy } from './tcp-proxy.js';

/** Sends a line through `port` and resolves with the echo, or rejects with the socket's error. */
function roundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    socket.once('data', (d) => {
      resolve(d.toString());
      socket.end();
    });
    socket.once('error', reject);
  });
}

describe('TcpProxy', () => {
  let echo: net.Server;
  let proxy: TcpProxy;

  beforeAll(async () => {
    echo = net.createServer((s) => s.on('error', () => undefined).pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    proxy = await TcpProxy.start((echo.address() as net.AddressInfo).port);
  });
  afterAll(async () => {
    await proxy.stop();
    await new Promise((r) => echo.close(r));
  });

  it('forwards, resets its connections and refuses new ones when cut off, and forwards again when restored', async () => {
    expect(await roundTrip(proxy.port, 'hello')).toBe('hello');

    const held = net.connect(proxy.port, '127.0.0.1');
    await new Promise((r) => held.once('connect', r));
    const reset = new Promise<NodeJS.ErrnoException>((r) => held.once('error', r));
    await new Promise((r) => setImmediate(r)); // the proxy has accepted it
    await proxy.cutOff();
    expect((await reset).code).toBe('ECONNRESET');
    await expect(roundTrip(proxy.port, 'anyone?')).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    const port = proxy.port;
    await proxy.restore();
    expect(proxy.port).toBe(port);
    expect(await roundTrip(proxy.port, 'back')).toBe('back');
  });
});
