/**
 * A vendor library loaded with koffi and its functions resolved on first use. Loaded RTLD_LAZY
 * (never RTLD_DEEPBIND, which would defeat preload-based fault interposers), so a symbol an older
 * driver lacks only disables the API that needs it.
 */
import koffi, { type LibraryHandle } from 'koffi';

export type NativeFunction = ReturnType<LibraryHandle['func']>;

export interface NativeSignature {
  /** Symbol names to try in order: newest version first (`_v3`, `_v2`, then the plain name). */
  readonly names: readonly string[];
  readonly result: string;
  readonly params: readonly string[];
}

export interface ResolvedFunction {
  /** The symbol found: tells the caller which struct version the function speaks. */
  readonly name: string;
  readonly fn: NativeFunction;
}

let stuckCalls = 0;
let exitHooked = false;

/**
 * Counts native calls that did not return (+1) and those that finally did (-1). While one is stuck,
 * a normal exit would never finish: libuv joins its thread-pool threads on the way out, and Node
 * joins its worker threads (a worker inside a C call cannot be terminated), and one is inside the
 * call. So the process then leaves through libc `_exit` once 'exit' has been emitted (shutdown is
 * done and stdout/stderr, pipes or files on Linux, are written synchronously).
 */
export function noteStuckCall(delta: 1 | -1): void {
  stuckCalls += delta;
  if (exitHooked || stuckCalls <= 0) return;
  exitHooked = true;
  process.once('exit', (code) => {
    if (stuckCalls <= 0) return;
    try {
      (koffi.load('libc.so.6').func('void _exit(int)') as (code: number) => void)(code);
    } catch {
      // no glibc: the exit waits for the call, as it would have without this
    }
  });
}

export class NativeLibrary<K extends string> {
  private readonly cache = new Map<K, ResolvedFunction | null>();

  private constructor(
    readonly path: string,
    private readonly handle: LibraryHandle,
    private readonly signatures: Readonly<Record<K, NativeSignature>>,
  ) {}

  /** Loads the library; a load failure (missing file, wrong architecture, missing dependency) is returned, not thrown. */
  static open<K extends string>(path: string, signatures: Readonly<Record<K, NativeSignature>>): NativeLibrary<K> | Error {
    try {
      return new NativeLibrary(path, koffi.load(path, { lazy: true }), signatures);
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  }

  /** The function for `key`, or undefined when no name of it is exported (the API's FUNCTION_NOT_FOUND). */
  resolve(key: K): ResolvedFunction | undefined {
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const sig = this.signatures[key];
    let found: ResolvedFunction | null = null;
    for (const name of sig.names) {
      try {
        found = { name, fn: this.handle.func(name, sig.result, [...sig.params]) };
        break;
      } catch {
        // not exported by this driver version: try the next name
      }
    }
    this.cache.set(key, found);
    return found ?? undefined;
  }

  unload(): void {
    this.cache.clear();
    this.handle.unload();
  }
}
