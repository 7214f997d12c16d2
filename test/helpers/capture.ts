// A writable that keeps what it was given, standing in for stdout/stderr in CLI tests.
import { Writable } from 'node:stream';

export class Capture extends Writable {
  text = '';
  isTTY: boolean;

  constructor(isTTY = false) {
    super();
    this.isTTY = isTTY;
  }

  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }

  /** Resolves with the first line once one has been written. */
  firstLine(timeoutMs = 10_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const poll = () => {
        const nl = this.text.indexOf('\n');
        if (nl >= 0) return resolve(this.text.slice(0, nl));
        if (Date.now() - started > timeoutMs) return reject(new Error(`no line within ${timeoutMs} ms; got ${JSON.stringify(this.text)}`));
        setTimeout(poll, 10);
      };
      poll();
    });
  }
}
