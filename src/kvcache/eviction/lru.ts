/** Least recently used: a hit moves the entry to the head; the victim is the oldest evictable entry. */
import { ListPolicy } from './list-policy.js';

export class LruPolicy extends ListPolicy {
  readonly name = 'lru';
  readonly lastQueue = 'lru';

  touch(id: number): void {
    if (this.list.has(id)) this.toHead(id);
  }
}
