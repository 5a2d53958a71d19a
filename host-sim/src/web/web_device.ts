// What the web face needs of a simulated device (a bus validator, a gate): one plug per kind.

/** A JSON value as sent over the page's WebSocket. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

/** A person's action on a device: `verb` and its arguments, as the page sends it. */
export interface WebAction {
  readonly verb: string;
  readonly args: Readonly<Record<string, JsonValue>>;
}

/** What an action came to: ok, or a sentence for the page (a bad card id, a busy reader). */
export type WebActResult = { readonly ok: true } | { readonly ok: false; readonly error: string };

/**
 * One simulated device on the page. The server knows nothing of a kind's insides: it sends
 * `describe()` once, `state()` whenever its JSON changes, and `takeEvents()` as they come; the
 * page draws each `kind` with its own module (host-sim/web/device_<kind>.js). A new kind (the
 * gate) implements this and adds its page module; the server and the page's shell stay as
 * they are.
 */
export interface WebDevice {
  /** Unique on the page (the terminal id). */
  readonly id: string;
  /** Which page module draws it: 'bus', 'gate'. */
  readonly kind: string;
  /** What does not change while it runs (its cards, its terminal and line ids). */
  describe(): JsonValue;
  /** What it shows now (screen, LEDs, journal). */
  state(): JsonValue;
  /** Events since the last call (indicator edges for the beep, finished taps), oldest first. */
  takeEvents(): JsonValue[];
  /** Carries out a person's action. Never throws on bad input: it returns the error. */
  act(action: WebAction): WebActResult;
  /** Starts its clock; `onTick` is called after every advance (the server sends changes). */
  start(onTick: () => void): void;
  /** Stops its clock and lets go of everything it made (temporary files). Never throws. */
  stop(): Promise<void>;
}
