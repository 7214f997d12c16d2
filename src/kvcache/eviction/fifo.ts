/** First in, first out: hits change nothing; the victim is the earliest-inserted evictable entry. */
import { ListPolicy } from './list-policy.js';

export class FifoPolicy extends ListPolicy {
  readonly name = 'fifo';
  readonly lastQueue = 'fifo';

  touch(_id: number): void {
    /* insertion order only */
  }
}
