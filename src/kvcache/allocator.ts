/**
 * Slot allocator over the slabs. Slabs are cut into pages (`pageSize`, the largest block); a page
 * serves one slot size (a namespace block size rounded up to 4 KiB) and holds ⌊page / slot⌋ slots.
 * A slot id packs `page << shift | index`. Pages move between slot sizes when they are empty, so
 * namespaces with different block sizes share the capacity.
 */
import { SLOT_ALIGN } from './options.js';

export interface SlotLocation {
  readonly slab: number;
  readonly offset: number;
}

interface SizeClass {
  readonly slotSize: number;
  readonly perPage: number;
  /** Free slot ids of this class (a stack of numbers: no object per slot). */
  free: number[];
  pages: number;
}

const NO_CLASS = -1;

export function slotSizeFor(blockSize: number): number {
  return Math.ceil(blockSize / SLOT_ALIGN) * SLOT_ALIGN;
}

export class SlotAllocator {
  readonly pageCount: number;
  readonly pagesPerSlab: number;
  private readonly shift: number;
  private readonly pageClass: Int32Array;
  private readonly pageUsed: Uint32Array;
  private readonly classes: SizeClass[] = [];
  private readonly classBySize = new Map<number, number>();
  /** Pages never assigned or given back (a stack). */
  private readonly freePages: number[] = [];
  private usedBytes = 0;
  /** Assigned pages with no slot in use (reclaimable by another class). */
  private emptyAssigned = 0;

  constructor(
    readonly slabSize: number,
    readonly slabCount: number,
    readonly pageSize: number,
  ) {
    this.pagesPerSlab = slabSize / pageSize;
    if (!Number.isInteger(this.pagesPerSlab) || this.pagesPerSlab < 1) throw new RangeError(`slab size ${slabSize} is not a multiple of page size ${pageSize}`);
    this.pageCount = this.pagesPerSlab * slabCount;
    this.shift = Math.ceil(Math.log2(pageSize / SLOT_ALIGN)) || 0;
    if (this.pageCount * 2 ** this.shift > 0x7fff_ffff) throw new RangeError('too many slots for 31-bit slot ids; use a larger page size');
    this.pageClass = new Int32Array(this.pageCount).fill(NO_CLASS);
    this.pageUsed = new Uint32Array(this.pageCount);
    for (let p = this.pageCount - 1; p >= 0; p--) this.freePages.push(p);
  }

  get capacityBytes(): number {
    return this.slabSize * this.slabCount;
  }

  /** Bytes of slots handed out (slot sizes, not block lengths). */
  get allocatedBytes(): number {
    return this.usedBytes;
  }

  /** The class id serving `slotSize` (created on first use). */
  classFor(slotSize: number): number {
    if (slotSize < SLOT_ALIGN || slotSize > this.pageSize || slotSize % SLOT_ALIGN !== 0) throw new RangeError(`slot size ${slotSize} out of range`);
    let c = this.classBySize.get(slotSize);
    if (c === undefined) {
      c = this.classes.length;
      this.classes.push({ slotSize, perPage: Math.floor(this.pageSize / slotSize), free: [], pages: 0 });
      this.classBySize.set(slotSize, c);
    }
    return c;
  }

  slotSizeOf(classId: number): number {
    return (this.classes[classId] as SizeClass).slotSize;
  }

  /** A free slot of the class, taking an empty page if needed; -1 when none is free. */
  take(classId: number): number {
    const cls = this.classes[classId] as SizeClass;
    if (cls.free.length === 0 && !this.assignPage(cls, classId)) return -1;
    const slot = cls.free.pop() as number;
    if (this.pageUsed[slot >>> this.shift]!++ === 0) this.emptyAssigned--;
    this.usedBytes += cls.slotSize;
    return slot;
  }

  free(slot: number): void {
    const page = slot >>> this.shift;
    const classId = this.pageClass[page] as number;
    const cls = this.classes[classId];
    if (cls === undefined || this.pageUsed[page] === 0) throw new Error(`slot ${slot} is not allocated`);
    if (--this.pageUsed[page]! === 0) this.emptyAssigned++;
    this.usedBytes -= cls.slotSize;
    cls.free.push(slot);
  }

  where(slot: number): SlotLocation {
    const page = slot >>> this.shift;
    const index = slot & ((1 << this.shift) - 1);
    const cls = this.classes[this.pageClass[page] as number] as SizeClass;
    return {
      slab: Math.floor(page / this.pagesPerSlab),
      offset: (page % this.pagesPerSlab) * this.pageSize + index * cls.slotSize,
    };
  }

  private assignPage(cls: SizeClass, classId: number): boolean {
    let page = this.freePages.pop();
    if (page === undefined) page = this.reclaimEmptyPage(classId);
    if (page === undefined) return false;
    this.pageClass[page] = classId;
    this.emptyAssigned++;
    cls.pages++;
    const base = page << this.shift;
    for (let i = cls.perPage - 1; i >= 0; i--) cls.free.push(base + i);
    return true;
  }

  /** Takes an empty page from another class (rebalancing between block sizes). */
  private reclaimEmptyPage(except: number): number | undefined {
    if (this.emptyAssigned === 0) return undefined;
    for (let p = 0; p < this.pageCount; p++) {
      const c = this.pageClass[p] as number;
      if (c === except || c === NO_CLASS || this.pageUsed[p] !== 0) continue;
      const cls = this.classes[c] as SizeClass;
      cls.free = cls.free.filter((s) => s >>> this.shift !== p);
      cls.pages--;
      this.pageClass[p] = NO_CLASS;
      this.emptyAssigned--;
      return p;
    }
    return undefined;
  }
}
