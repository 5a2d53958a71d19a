// Loads the built kernel as a core module (default) or as a component, and survives its traps.
//
// The kernel never throws across the boundary; a trap is a kernel bug. The loader catches it,
// records where the kernel aborted, discards the poisoned instance, re-instantiates from the
// already compiled module and reports ERR_KERNEL_FAULT (style.md 10.5).

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KernelStatus } from './abi.gen.js';

/** Where the build puts the kernel (relative to the repository root). */
const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const REPO_ROOT_FROM_DIST = join(REPO_ROOT, '..');

/** Which runtime runs the kernel: the core module (validators) or the component (wasmtime). */
export type KernelRuntime = 'core' | 'component';

/** Where and why the kernel aborted, read from its fault record. */
export interface KernelFault {
  readonly message: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** A running kernel. Not re-entrant: one step at a time, like the firmware loop. */
export interface Kernel {
  readonly runtime: KernelRuntime;
  /** Input capacity in bytes (IN buffer). */
  readonly inCapacity: number;
  /**
   * Runs one operation. Returns the kernel status; ERR_INPUT_TOO_LONG without calling the
   * kernel when `input` does not fit; ERR_KERNEL_FAULT after a trap (the instance is replaced).
   */
  step(op: number, arg: number, input: Uint8Array): number;
  /** Output of the last step: a view valid until the next step. Empty after a failure. */
  output(): Uint8Array;
  /**
   * Writes `input` into IN for stepInPlace (a reader driver can fill IN once and run several
   * operations on it). Returns false when it does not fit.
   */
  writeInput(input: Uint8Array): boolean;
  /** Runs one operation on the first `inLength` bytes already in IN (see writeInput). */
  stepInPlace(op: number, arg: number, inLength: number): number;
  /** Linear memory size in bytes (core runtime; the component hides its memory: -1). */
  memoryBytes(): number;
  /** Traps caught so far, and the last fault. */
  faultCount(): number;
  lastFault(): KernelFault | null;
}

interface CoreExports {
  readonly memory: WebAssembly.Memory;
  shuaka_in_ptr(): number;
  shuaka_out_ptr(): number;
  shuaka_out_length(): number;
  shuaka_fault_ptr(): number;
  shuaka_step(op: number, arg: number, inLength: number): number;
}

interface ComponentExports {
  step(op: number, arg: number, input: Uint8Array): { status: number; output: Uint8Array };
  version(): number;
}

interface ComponentModule {
  instantiate(
    getCoreModule: (path: string) => WebAssembly.Module,
    imports: Record<string, never>,
  ): ComponentExports;
}

/** Options of loadKernel. */
export interface LoadKernelOptions {
  readonly runtime?: KernelRuntime;
  /** Build directory holding kernel.wasm and component/ (default: the repository's build/). */
  readonly buildDir?: string;
  /**
   * The core module compiled earlier (compileKernelModule): a simulation that reboots often
   * instantiates it again instead of compiling 64 KB of wasm per boot. Core runtime only.
   */
  readonly module?: WebAssembly.Module;
}

const IN_CAPACITY_DEFAULT = 8192;

/** Finds the build directory whether this file runs from source or from dist/. */
export function defaultBuildDir(): string {
  const fromSource = join(REPO_ROOT, 'build');
  if (existsSync(join(fromSource, 'kernel.wasm'))) return fromSource;
  return join(REPO_ROOT_FROM_DIST, 'build');
}

/** Compiles the core kernel.wasm of `buildDir`. Throws only when the build output is missing. */
export async function compileKernelModule(
  buildDir: string = defaultBuildDir(),
): Promise<WebAssembly.Module> {
  return WebAssembly.compile(readFileSync(join(buildDir, 'kernel.wasm')));
}

/** Loads and instantiates the kernel. Throws only when the build output is missing. */
export async function loadKernel(options: LoadKernelOptions = {}): Promise<Kernel> {
  const runtime = options.runtime ?? 'core';
  // A caller with a compiled module (a board that reboots) reads no file.
  if (runtime === 'core' && options.module !== undefined) return new CoreKernel(options.module);
  const buildDir = options.buildDir ?? defaultBuildDir();
  if (runtime === 'core') return new CoreKernel(await compileKernelModule(buildDir));
  const jsPath = join(buildDir, 'component', 'kernel.js');
  const component = (await import(pathToImport(jsPath))) as ComponentModule;
  const modules = new Map<string, WebAssembly.Module>();
  const getCoreModule = (path: string): WebAssembly.Module => {
    let module = modules.get(path);
    if (module === undefined) {
      module = new WebAssembly.Module(readFileSync(join(buildDir, 'component', path)));
      modules.set(path, module);
    }
    return module;
  };
  return new ComponentKernel(() => component.instantiate(getCoreModule, {}));
}

function pathToImport(path: string): string {
  // A file URL keeps the dynamic import independent of the caller's working directory.
  return new URL(`file://${path}`).href;
}

class CoreKernel implements Kernel {
  readonly runtime = 'core' as const;
  readonly inCapacity = IN_CAPACITY_DEFAULT;
  private exports!: CoreExports;
  // The memory cannot grow (fixed size), so one view and the buffer addresses stay valid
  // until the instance is replaced.
  private memory!: Uint8Array;
  private inPtr = 0;
  private outPtr = 0;
  private outLength = 0;
  private faults = 0;
  private fault: KernelFault | null = null;

  constructor(private readonly module: WebAssembly.Module) {
    this.instantiate();
  }

  step(op: number, arg: number, input: Uint8Array): number {
    if (!this.writeInput(input)) {
      this.outLength = 0;
      return KernelStatus.ERR_INPUT_TOO_LONG;
    }
    return this.stepInPlace(op, arg, input.length);
  }

  writeInput(input: Uint8Array): boolean {
    if (input.length > this.inCapacity) return false;
    this.memory.set(input, this.inPtr);
    return true;
  }

  stepInPlace(op: number, arg: number, inLength: number): number {
    this.outLength = 0;
    let status: number;
    try {
      status = this.exports.shuaka_step(op >>> 0, arg >>> 0, inLength >>> 0);
    } catch (err) {
      if (!(err instanceof WebAssembly.RuntimeError)) throw err;
      this.recordFault(err);
      return KernelStatus.ERR_KERNEL_FAULT;
    }
    this.outLength = this.exports.shuaka_out_length();
    return status;
  }

  output(): Uint8Array {
    return this.memory.subarray(this.outPtr, this.outPtr + this.outLength);
  }

  memoryBytes(): number {
    return this.exports.memory.buffer.byteLength;
  }

  faultCount(): number {
    return this.faults;
  }

  lastFault(): KernelFault | null {
    return this.fault;
  }

  private instantiate(): void {
    const instance = new WebAssembly.Instance(this.module, {});
    this.exports = instance.exports as unknown as CoreExports;
    this.memory = new Uint8Array(this.exports.memory.buffer);
    this.inPtr = this.exports.shuaka_in_ptr();
    this.outPtr = this.exports.shuaka_out_ptr();
  }

  private recordFault(err: WebAssembly.RuntimeError): void {
    this.faults += 1;
    this.fault = readFault(this.exports, err);
    // The poisoned instance's state cannot be trusted: start again from the compiled module.
    this.instantiate();
  }
}

/** Reads the abort record (AS strings are UTF-16LE with their byte length at ptr - 4). */
function readFault(ex: CoreExports, err: WebAssembly.RuntimeError): KernelFault {
  const view = new DataView(ex.memory.buffer);
  const record = ex.shuaka_fault_ptr();
  const messagePtr = view.getUint32(record, true);
  if (messagePtr === 0) return { message: err.message, file: '', line: 0, column: 0 };
  return {
    message: readAsString(view, messagePtr),
    file: readAsString(view, view.getUint32(record + 4, true)),
    line: view.getUint32(record + 8, true),
    column: view.getUint32(record + 12, true),
  };
}

function readAsString(view: DataView, ptr: number): string {
  if (ptr < 4 || ptr >= view.byteLength) return '';
  const bytes = view.getUint32(ptr - 4, true);
  if (bytes > 4096 || ptr + bytes > view.byteLength) return '';
  return Buffer.from(view.buffer, view.byteOffset + ptr, bytes).toString('utf16le');
}

class ComponentKernel implements Kernel {
  readonly runtime = 'component' as const;
  readonly inCapacity = IN_CAPACITY_DEFAULT;
  private exports: ComponentExports;
  private outputBytes: Uint8Array = new Uint8Array(0);
  private pending: Uint8Array = new Uint8Array(0);
  private faults = 0;
  private fault: KernelFault | null = null;

  constructor(private readonly instantiate: () => ComponentExports) {
    this.exports = instantiate();
  }

  step(op: number, arg: number, input: Uint8Array): number {
    this.outputBytes = new Uint8Array(0);
    if (input.length > this.inCapacity) return KernelStatus.ERR_INPUT_TOO_LONG;
    try {
      const result = this.exports.step(op >>> 0, arg >>> 0, input);
      this.outputBytes = result.output;
      return result.status;
    } catch (err) {
      if (!(err instanceof WebAssembly.RuntimeError)) throw err;
      // A trapped component refuses every further call ("cannot enter component instance").
      this.faults += 1;
      this.fault = { message: err.message, file: '', line: 0, column: 0 };
      this.exports = this.instantiate();
      return KernelStatus.ERR_KERNEL_FAULT;
    }
  }

  output(): Uint8Array {
    return this.outputBytes;
  }

  writeInput(input: Uint8Array): boolean {
    if (input.length > this.inCapacity) return false;
    this.pending = Uint8Array.from(input);
    return true;
  }

  stepInPlace(op: number, arg: number, inLength: number): number {
    // The component owns its memory: the canonical ABI copies the list in on every call.
    return this.step(op, arg, this.pending.subarray(0, inLength));
  }

  memoryBytes(): number {
    return -1;
  }

  faultCount(): number {
    return this.faults;
  }

  lastFault(): KernelFault | null {
    return this.fault;
  }
}
