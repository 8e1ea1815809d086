/**
 * libzstd (WebAssembly, `@bokuweb/zstd-wasm`), loaded on first use and synchronously.
 *
 * The package's own `init()` is asynchronous (it reads the .wasm with fs/promises and calls
 * `WebAssembly.instantiate`), so calling it when a module loads makes every importer of the
 * batch codec wait for the package's glue to load and the 250 KB module to compile, whether or
 * not it ever sees a zstd batch. Instead the first zstd compress or decompress of a process
 * loads the glue, compiles the .wasm (`new WebAssembly.Module`, synchronous in Node, no
 * size limit on the main thread) and hands the Emscripten glue the instance through its
 * `instantiateWasm` hook; with the instance given synchronously the glue runs libzstd's
 * constructors before `init` returns, so the codec API stays synchronous.
 *
 * The glue's `Module` object is not exported by the package's entry point, so its file is
 * required by absolute path next to the entry (the package's "exports" map covers only the
 * entry); both paths resolve to the same file, so the entry's compress/decompress use the
 * instance given here.
 *
 * A process where libzstd cannot load (no WebAssembly, e.g. `node --jitless`, or a broken
 * install) still runs: zstd use alone fails, with UNSUPPORTED_COMPRESSION_TYPE naming why,
 * every time (the load is not retried: the glue's state after a failed start is undefined).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { rillError, type RillError } from '../errors.js';

/** The package's entry point functions used by zstd.ts. */
export interface Libzstd {
  /** One zstd frame of `buf` at `level`. */
  compress(buf: Uint8Array, level: number): Uint8Array;
  /** One frame decompressed into at most `defaultHeapSize` bytes when it declares no content size. */
  decompress(buf: Uint8Array, opts: { defaultHeapSize: number }): Uint8Array;
}

/** The WebAssembly API used here (the ES lib and @types/node this project compiles with do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: unknown) => { exports: unknown };
}

/** The part of the Emscripten glue's Module object that starting it touches. */
interface EmscriptenModule {
  instantiateWasm?: (imports: unknown, receiveInstance: (instance: { exports: unknown }, module: object) => unknown) => unknown;
  init(wasm?: unknown): unknown;
  calledRun?: boolean;
}

const PACKAGE = '@bokuweb/zstd-wasm';

let loaded: Libzstd | null = null;
let failure: RillError | null = null;

/** libzstd, loaded now if this is the process's first zstd use; throws UNSUPPORTED_COMPRESSION_TYPE if it cannot load. */
export function libzstd(): Libzstd {
  if (loaded !== null) return loaded;
  if (failure !== null) throw failure;
  try {
    loaded = load();
    return loaded;
  } catch (cause) {
    failure = rillError('UNSUPPORTED_COMPRESSION_TYPE', `zstd is unavailable in this process: libzstd (WebAssembly) did not load (${(cause as Error).message})`, { cause });
    throw failure;
  }
}

/** Whether this process has loaded libzstd (for tests and diagnostics: an unused codec costs nothing). */
export function libzstdLoaded(): boolean {
  return loaded !== null;
}

function load(): Libzstd {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (wasm === undefined) throw new Error('this Node has no WebAssembly (was it started with --jitless?)');
  const require = createRequire(import.meta.url);
  const entry = require.resolve(PACKAGE);
  const dir = dirname(entry);
  const api = require(entry) as Libzstd;
  const glue = (require(join(dir, 'zstd.js')) as { Module?: EmscriptenModule }).Module;
  if (glue === undefined || typeof glue.init !== 'function') throw new Error(`${PACKAGE}'s glue (${join(dir, 'zstd.js')}) has no Module.init: an unexpected package version`);
  const compiled = new wasm.Module(readFileSync(join(dir, 'zstd.wasm')));
  let instantiateError: unknown = null;
  glue.instantiateWasm = (imports, receiveInstance) => {
    // Errors are kept, not thrown: the glue would print them with console.warn and go on.
    try {
      const instance = new wasm.Instance(compiled, imports);
      receiveInstance(instance, compiled);
      return instance.exports;
    } catch (err) {
      instantiateError = err;
      return {};
    }
  };
  glue.init();
  if (instantiateError !== null) throw instantiateError;
  if (glue.calledRun !== true) throw new Error(`${PACKAGE}'s runtime did not start synchronously: an unexpected package version`);
  return api;
}
