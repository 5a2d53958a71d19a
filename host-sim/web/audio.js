// The beep through Web Audio, from the buzzer's PWM edges the server recorded (tone, on, off).

/** Loud enough to hear, soft enough for a demo room: a piezo's square wave at low gain. */
const GAIN = 0.04;

/**
 * Plays each device's buzzer as the driver drove it: an edge with `toneHz` > 0 starts (or
 * retunes) a square-wave oscillator, an edge with 0 stops it, timed by the edges' own
 * (simulated) times. Every beep played is logged in `log` with its tone, its length and the
 * AudioContext's state, so a test can tell a beep that was heard from one that was not.
 */
export class BeepPlayer {
  constructor() {
    this.context = null;
    this.tones = new Map();
    this.log = [];
  }

  /** Creates or resumes the AudioContext (call it from a click: browsers require one). */
  unlock() {
    if (this.context === null) this.context = new AudioContext();
    if (this.context.state === 'suspended') void this.context.resume();
  }

  state() {
    return this.context === null ? 'off' : this.context.state;
  }

  /** One indicator edge of device `id`: `{atMs, toneHz}`. */
  edge(id, edge) {
    if (this.context === null) this.context = new AudioContext();
    const playing = this.tones.get(id);
    if (playing !== undefined && playing.toneHz === edge.toneHz) return;
    if (playing !== undefined) this.end(id, playing, edge.atMs);
    if (edge.toneHz > 0) this.begin(id, edge);
  }

  begin(id, edge) {
    const ctx = this.context;
    const oscillator = ctx.createOscillator();
    const gain = ctx.createGain();
    oscillator.type = 'square';
    oscillator.frequency.value = edge.toneHz;
    gain.gain.value = GAIN;
    oscillator.connect(gain).connect(ctx.destination);
    const startedAt = ctx.currentTime;
    oscillator.start(startedAt);
    this.tones.set(id, { oscillator, toneHz: edge.toneHz, atMs: edge.atMs, startedAt });
  }

  end(id, playing, atMs) {
    // Edge times are simulated ms with fractions (bytes paced at the baud rate): to the µs.
    const durationMs = Math.round((atMs - playing.atMs) * 1000) / 1000;
    playing.oscillator.stop(playing.startedAt + durationMs / 1000);
    this.tones.delete(id);
    this.log.push({
      device: id,
      toneHz: playing.toneHz,
      durationMs,
      contextState: this.context.state,
      startedAt: playing.startedAt,
    });
  }
}
