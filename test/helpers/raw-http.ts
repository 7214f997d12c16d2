// Raw bytes to a loopback HTTP listener: what it answered before it closed the connection.
import { connect } from 'node:net';

/** Writes `text` to 127.0.0.1:`port` and resolves with everything read until the server closes; rejects if it never does. */
export function rawExchange(port: number, text: string, hangMs = 10_000): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let out = '';
    const hang = setTimeout(() => {
      sock.destroy();
      reject(new Error('connection left open'));
    }, hangMs);
    sock.on('data', (d) => (out += d.toString()));
    sock.on('close', () => {
      clearTimeout(hang);
      resolve(out);
    });
    sock.on('error', () => undefined);
    sock.write(text);
  });
}
