/**
 * One ZMTP 3.x connection over a node:net socket: greeting, NULL handshake (READY with Socket-Type
 * and Identity), then commands and multipart messages. Any protocol error or limit breach ends the
 * connection with a ZmtpProtocolError passed to onClose; nothing is thrown to the caller.
 */
import type { Socket } from 'node:net';
import {
  FrameReader,
  GREETING_BYTES,
  ZmtpProtocolError,
  checkSignature,
  compatibleSocketTypes,
  encodeCommand,
  encodeGreeting,
  encodeMessage,
  encodeMetadata,
  parseGreeting,
  parseMetadata,
  type FrameLimits,
  type ZmtpSocketType,
} from './wire.js';

export interface PeerOptions extends FrameLimits {
  readonly socketType: ZmtpSocketType;
  readonly asServer: boolean;
  /** Our Identity property (DEALER); empty by default. */
  readonly identity?: Uint8Array;
  /** A peer that has not finished its handshake by then is dropped. */
  readonly handshakeTimeoutMs: number;
}

export interface PeerHandlers {
  onReady(peer: ZmtpPeer): void;
  onMessage(peer: ZmtpPeer, frames: Buffer[]): void;
  /** Commands other than READY/PING/PONG/ERROR (SUBSCRIBE, CANCEL). */
  onCommand?(peer: ZmtpPeer, name: string, data: Buffer): void;
  onClose(peer: ZmtpPeer, error: ZmtpProtocolError | undefined): void;
}

type State = 'greeting' | 'handshake' | 'ready' | 'closed';

export class ZmtpPeer {
  private state: State = 'greeting';
  private readonly reader: FrameReader;
  private readonly timer: NodeJS.Timeout;
  private peerMinorVersion = 0;
  /** The peer's Identity property (ROUTER routing id source); empty when it sent none. */
  peerIdentity: Buffer = Buffer.alloc(0);
  peerSocketType = '';

  constructor(
    readonly socket: Socket,
    private readonly options: PeerOptions,
    private readonly handlers: PeerHandlers,
  ) {
    this.reader = new FrameReader(options);
    this.timer = setTimeout(() => this.fail(new ZmtpProtocolError('handshake timed out')), options.handshakeTimeoutMs);
    this.timer.unref();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
    socket.write(encodeGreeting(options.asServer));
  }

  /** ZMTP minor version the peer announced (0: 3.0, subscriptions travel as messages). */
  get peerMinor(): number {
    return this.peerMinorVersion;
  }

  get ready(): boolean {
    return this.state === 'ready';
  }

  /** Bytes queued in the kernel-side write buffer not yet flushed (for high-water marks). */
  get queuedBytes(): number {
    return this.socket.writableLength;
  }

  send(frames: readonly Uint8Array[]): void {
    if (this.state !== 'ready') return;
    this.socket.cork();
    for (const part of encodeMessage(frames)) this.socket.write(part);
    this.socket.uncork();
  }

  sendCommand(name: string, data?: Uint8Array): void {
    if (this.state === 'closed') return;
    this.socket.write(encodeCommand(name, data));
  }

  close(error?: ZmtpProtocolError): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.timer);
    this.socket.destroy();
    this.handlers.onClose(this, error);
  }

  private isClosed(): boolean {
    return this.state === 'closed';
  }

  private fail(error: ZmtpProtocolError): void {
    if (this.state === 'closed') return;
    // Tell a well-meaning peer why (ERROR command) once the handshake got far enough to parse it.
    if (this.state === 'handshake') this.socket.write(encodeCommand('ERROR', Buffer.concat([Buffer.from([Math.min(error.reason.length, 255)]), Buffer.from(error.reason.slice(0, 255), 'latin1')])));
    this.close(error);
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.reader.push(chunk);
    try {
      if (this.state === 'greeting') {
        checkSignature(this.reader.peek(Math.min(this.reader.bufferedBytes, 10)));
        if (this.reader.bufferedBytes < GREETING_BYTES) return;
        const greeting = parseGreeting(this.reader.take(GREETING_BYTES));
        this.peerMinorVersion = greeting.major > 3 ? 1 : greeting.minor;
        this.state = 'handshake';
        const props: Record<string, Uint8Array | string> = { 'Socket-Type': this.options.socketType };
        if (this.options.identity !== undefined && this.options.identity.length > 0) props['Identity'] = this.options.identity;
        this.socket.write(encodeCommand('READY', encodeMetadata(props)));
      }
      for (let ev = this.reader.next(); ev !== undefined; ev = this.isClosed() ? undefined : this.reader.next()) {
        if (ev.kind === 'command') this.onCommand(ev.command.name, ev.command.data);
        else if (this.state !== 'ready') throw new ZmtpProtocolError('message before the handshake completed');
        else this.handlers.onMessage(this, ev.frames);
      }
    } catch (err) {
      this.fail(err instanceof ZmtpProtocolError ? err : new ZmtpProtocolError(String(err)));
    }
  }

  private onCommand(name: string, data: Buffer): void {
    if (this.state === 'handshake') {
      if (name === 'ERROR') throw new ZmtpProtocolError(`peer refused the handshake: ${data.subarray(1).toString('latin1')}`);
      if (name !== 'READY') throw new ZmtpProtocolError(`expected READY, got ${name}`);
      const props = parseMetadata(data);
      const type = props.get('socket-type')?.toString('latin1') ?? '';
      if (!compatibleSocketTypes(this.options.socketType, type)) throw new ZmtpProtocolError(`socket type ${type || '(none)'} cannot talk to ${this.options.socketType}`);
      this.peerSocketType = type;
      const identity = props.get('identity');
      if (identity !== undefined) {
        if (identity.length > 255) throw new ZmtpProtocolError('identity longer than 255 bytes');
        this.peerIdentity = Buffer.from(identity);
      }
      this.state = 'ready';
      clearTimeout(this.timer);
      this.handlers.onReady(this);
      return;
    }
    if (name === 'READY') throw new ZmtpProtocolError('second READY');
    if (name === 'ERROR') throw new ZmtpProtocolError(`peer error: ${data.subarray(1).toString('latin1')}`);
    if (name === 'PING') {
      // PING = TTL (2 bytes) + context (≤ 16 bytes); PONG echoes the context.
      if (data.length < 2 || data.length > 18) throw new ZmtpProtocolError('malformed PING');
      this.sendCommand('PONG', data.subarray(2));
      return;
    }
    if (name === 'PONG') return;
    this.handlers.onCommand?.(this, name, data);
  }
}
