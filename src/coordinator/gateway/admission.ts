/**
 * Admission of completion requests from their headers, before a byte of the body is read: a slot
 * under --gateway.max-in-flight, and a share of --gateway.max-buffered-body for the body (its
 * Content-Length at once, or chunk by chunk for a chunked upload). Reading first and counting after
 * let every waiting upload buffer its whole body, so the limit bounded neither requests nor memory.
 * A ticket holds its slot and bytes until the request ends (the body is kept for the call), and is
 * released once, whoever ends it.
 */
import { BrixletError } from '../../common/errors.js';

export interface AdmissionLimits {
  /** Requests at once (headers in, not yet finished); 0 = no limit. */
  readonly maxInFlight: number;
  /** Body bytes held at once; 0 = no limit. One body is always admitted when none is held. */
  readonly maxBufferedBody: number;
}

export class Ticket {
  private bytes = 0;
  private released = false;

  constructor(private readonly gate: Admission) {}

  /** Reserves `n` more body bytes; throws BRX_ERR_GATEWAY_BUFFER_FULL (nothing reserved) when they do not fit. */
  grow(n: number): void {
    if (this.released || n <= 0) return;
    this.gate.reserve(n);
    this.bytes += n;
  }

  /** Frees the slot and the bytes; later calls do nothing. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.gate.free(this.bytes);
    this.bytes = 0;
  }
}

export class Admission {
  private slots = 0;
  private buffered = 0;

  constructor(private readonly limits: AdmissionLimits) {}

  /** Requests admitted and not yet released. */
  get inFlight(): number {
    return this.slots;
  }

  /** Body bytes held by admitted requests. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Admits a request whose body declares `declared` bytes (0 when unknown or chunked); throws 429 or 503. */
  admit(declared: number): Ticket {
    const max = this.limits.maxInFlight;
    if (max > 0 && this.slots >= max) throw new BrixletError('BRX_ERR_GATEWAY_OVERLOADED', { limit: max });
    const ticket = new Ticket(this);
    this.slots++;
    try {
      ticket.grow(declared);
    } catch (err) {
      ticket.release();
      throw err;
    }
    return ticket;
  }

  /** @internal Ticket.grow. */
  reserve(n: number): void {
    const max = this.limits.maxBufferedBody;
    if (max > 0 && this.buffered > 0 && this.buffered + n > max) {
      throw new BrixletError('BRX_ERR_GATEWAY_BUFFER_FULL', { buffered: this.buffered, limit: max });
    }
    this.buffered += n;
  }

  /** @internal Ticket.release. */
  free(bytes: number): void {
    this.slots--;
    this.buffered -= bytes;
  }
}
