// The PC/SC readers of one context, kept alive: readers come and go, and a lost context (pcscd
// stopped or restarted) is reopened with backoff on the injected clock.

import type { ClockPort } from '../ports/clock_port.js';
import { loadPcscFactory, probePcscService } from './pcsc_binding.js';
import type { PcscCardReader, PcscContextHandle, PcscFactory } from './pcsc_binding.js';

/** What the reader set reports; the board logs it and shows reader health. */
export type PcscReaderEvent =
  | { readonly kind: 'reader-added'; readonly name: string }
  | { readonly kind: 'reader-removed'; readonly name: string }
  | {
      readonly kind: 'status';
      readonly name: string;
      readonly state: number;
      readonly atr: Uint8Array;
    }
  | { readonly kind: 'context-lost'; readonly detail: string; readonly retryInMs: number }
  | { readonly kind: 'context-open' };

/** Options of a reader set; every field explicit. */
export interface PcscReadersOptions {
  readonly clock: ClockPort;
  /** First wait before reopening a lost context, ms; doubles up to `reopenBackoffMaxMs`. */
  readonly reopenBackoffMs: number;
  readonly reopenBackoffMaxMs: number;
  /** Called for every event (never throws back into the driver: errors are swallowed). */
  readonly onEvent: (event: PcscReaderEvent) => void;
  /** The binding; loaded lazily when absent (throws PcscUnavailableError if missing). */
  readonly factory?: PcscFactory;
  /** Whether the service answers before a reopen (default `probePcscService`). */
  readonly probe?: (timeoutMs: number) => Promise<boolean>;
}

/** How long a reopen probe may take before the service counts as not answering, ms. */
const PROBE_TIMEOUT_MS = 3000;

interface ReaderEntry {
  readonly reader: PcscCardReader;
  state: number;
  atr: Uint8Array;
}

/**
 * The readers PC/SC currently lists, with their last status. `find` matches a reader by exact
 * name, else by prefix (PC/SC appends " 00 00"-style slot numbers to the friendly name).
 */
export class PcscReaders {
  private readonly options: PcscReadersOptions;
  private readonly factory: PcscFactory;
  private context: PcscContextHandle | null = null;
  private readonly entries = new Map<string, ReaderEntry>();
  private backoffMs: number;
  private closed = false;
  private readonly changeListeners = new Set<() => void>();

  private constructor(options: PcscReadersOptions, factory: PcscFactory) {
    this.options = options;
    this.factory = factory;
    this.backoffMs = options.reopenBackoffMs;
  }

  /**
   * Opens the reader set: at once when the PC/SC service answers, else in the background with
   * backoff (reported as 'context-lost'). Throws PcscUnavailableError when the binding cannot
   * load.
   */
  static async open(options: PcscReadersOptions): Promise<PcscReaders> {
    const factory = options.factory ?? (await loadPcscFactory());
    const readers = new PcscReaders(options, factory);
    if (await (options.probe ?? probePcscService)(PROBE_TIMEOUT_MS)) readers.openContext();
    else readers.contextLost('PC/SC service not answering');
    return readers;
  }

  /** The reader named `name` (exact, else first by prefix), or null. */
  find(name: string): PcscCardReader | null {
    return this.entry(name)?.reader ?? null;
  }

  /** Last status of the reader `name` (state bits and ATR), or null when absent. */
  status(name: string): { readonly state: number; readonly atr: Uint8Array } | null {
    const entry = this.entry(name);
    return entry === undefined ? null : { state: entry.state, atr: entry.atr };
  }

  /** Names of the readers listed now. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  /** Calls `listener` after every reader or status change; returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Closes the context; no reopening after this. Never fails. */
  close(): void {
    this.closed = true;
    this.dropContext(true);
  }

  private entry(name: string): ReaderEntry | undefined {
    const exact = this.entries.get(name);
    if (exact !== undefined) return exact;
    for (const [key, value] of this.entries) if (key.startsWith(name)) return value;
    return undefined;
  }

  private emit(event: PcscReaderEvent): void {
    try {
      this.options.onEvent(event);
    } catch {
      // A logging callback must not break the driver.
    }
    for (const listener of this.changeListeners) listener();
  }

  private openContext(): void {
    let context: PcscContextHandle;
    try {
      context = this.factory();
    } catch (error) {
      this.contextLost(error instanceof Error ? error.message : String(error));
      return;
    }
    this.context = context;
    context.on('error', (error: Error) => {
      if (this.context === context) this.contextLost(error.message);
    });
    context.on('reader', (reader: PcscCardReader) => this.addReader(reader));
    this.emit({ kind: 'context-open' });
  }

  private addReader(reader: PcscCardReader): void {
    const entry: ReaderEntry = { reader, state: 0, atr: new Uint8Array(0) };
    this.entries.set(reader.name, entry);
    this.backoffMs = this.options.reopenBackoffMs;
    reader.on('error', () => undefined); // status errors end in 'end' or a context error
    reader.on('status', (status) => {
      entry.state = status.state;
      entry.atr = status.atr === undefined ? new Uint8Array(0) : new Uint8Array(status.atr);
      this.emit({ kind: 'status', name: reader.name, state: entry.state, atr: entry.atr });
    });
    reader.on('end', () => {
      if (this.entries.get(reader.name) === entry) this.entries.delete(reader.name);
      this.emit({ kind: 'reader-removed', name: reader.name });
    });
    this.emit({ kind: 'reader-added', name: reader.name });
  }

  /**
   * Forgets the context and its readers. `closeNative` only when the daemon is alive: the
   * binding's close() cancels and joins its status threads, and a thread blocked on a dead
   * daemon would block the event loop for good; a lost context's threads end on their error.
   */
  private dropContext(closeNative: boolean): void {
    const context = this.context;
    this.context = null;
    for (const [name, entry] of this.entries) {
      entry.reader.removeAllListeners();
      entry.reader.on('error', () => undefined); // its status thread may still report the loss
      if (closeNative) entry.reader.close();
      this.entries.delete(name);
    }
    if (context === null) return;
    context.removeAllListeners();
    context.on('error', () => undefined);
    if (closeNative) context.close();
  }

  private contextLost(detail: string): void {
    const names = [...this.entries.keys()];
    this.dropContext(false);
    for (const name of names) this.emit({ kind: 'reader-removed', name });
    if (this.closed) return;
    const retryInMs = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.reopenBackoffMaxMs);
    this.emit({ kind: 'context-lost', detail, retryInMs });
    void this.reopenAfter(retryInMs);
  }

  /** Waits, asks a child whether the service answers, then opens in-process (or backs off). */
  private async reopenAfter(waitMs: number): Promise<void> {
    await this.options.clock.sleepMs(waitMs);
    if (this.closed || this.context !== null) return;
    const answers = await (this.options.probe ?? probePcscService)(PROBE_TIMEOUT_MS);
    if (this.closed || this.context !== null) return;
    if (answers) this.openContext();
    else this.contextLost('PC/SC service not answering');
  }
}
