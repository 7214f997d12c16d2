/**
 * Reads an HTTP response body (an undici body stream) as UTF-8 up to a byte cap, so a broken or
 * hostile peer cannot make the process buffer without bound. Over the cap the stream is destroyed
 * and the answer is undefined.
 */
export interface CappedBody extends AsyncIterable<Buffer> {
  destroy(): unknown;
}

export async function readCapped(body: CappedBody, maxBytes: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > maxBytes) {
      body.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}
