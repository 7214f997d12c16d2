// The part every raw protocol client in the tests shares: buffer what arrives, cut it into replies
// (the subclass's take()), hand them out in order, and see the close.
import type { Socket } from 'node:net';

export abstract class FramedSocket<R> {
  /** Bytes received and not yet cut into replies; take() consumes from its front. */
  protected pending: Buffer = Buffer.alloc(0);
  private readonly queue: R[] = [];
  private waiters: ((r: R | undefined) => void)[] = [];
  closed = false;
  readonly ended: Promise<void>;

  protected constructor(readonly socket: Socket) {
    socket.on('data', (c: Buffer) => {
      this.pending = this.pending.length === 0 ? c : Buffer.concat([this.pending, c]);
      for (let f = this.take(); f !== undefined; f = this.take()) {
        const w = this.waiters.shift();
        if (w) w(f);
        else this.queue.push(f);
      }
    });
    socket.on('error', () => {});
    this.ended = new Promise((resolve) =>
      socket.on('close', () => {
        this.closed = true;
        for (const w of this.waiters) w(undefined);
        this.waiters = [];
        resolve();
      }),
    );
  }

  /** The next whole reply at the front of `pending` (removing it), or undefined while one is incomplete. */
  protected abstract take(): R | undefined;

  /** The next reply, or undefined once the server closed the connection. */
  next(): Promise<R | undefined> {
    const q = this.queue.shift();
    if (q !== undefined) return Promise.resolve(q);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  close(): void {
    this.socket.destroy();
  }
}
