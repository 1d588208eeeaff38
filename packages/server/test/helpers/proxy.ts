// A TCP proxy on loopback that a test can freeze: while frozen it accepts connections and keeps
// the open ones, but moves no byte in either direction, which is what a hung server looks like
// from the client (a stopped process, a paused VM, a network cut that leaves the connection
// open). Thawed, it delivers what it held, in order. The real server stays untouched, so tests
// never have to stop a service that others share.
import { connect, createServer, type Socket } from 'node:net';

export interface FreezableProxy {
  /** The port the proxy listens on, at 127.0.0.1. */
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  freeze(): void;
  thaw(): void;
  /** Closes every connection and the listener. */
  close(): Promise<void>;
}

export async function freezableProxy(target: {
  host: string;
  port: number;
}): Promise<FreezableProxy> {
  const sockets = new Set<Socket>();
  let frozen = false;
  let accepted = 0;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // Paused sockets do not read, so nothing flows; a socket made while frozen starts paused.
    if (frozen) socket.pause();
  };
  const server = createServer((client) => {
    accepted++;
    const upstream = connect(target.port, target.host);
    track(client);
    track(upstream);
    // Forwarded by hand, not with pipe(): pipe would resume a socket the test paused.
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => client.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('end', end);
      socket.on('close', end);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    get accepted() {
      return accepted;
    },
    freeze() {
      frozen = true;
      for (const socket of sockets) socket.pause();
    },
    thaw() {
      frozen = false;
      for (const socket of sockets) socket.resume();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
