// Real I/O inside simulated time: calls in flight are tracked, and the simulation's step loop
// awaits them before it moves the clock, so a call to a real depot takes no simulated time.

import type { DepotPort } from '../../../firmware/src/app/upload/depot_port.js';

/** The calls in flight. */
export class IoTracker {
  private readonly pending = new Set<Promise<unknown>>();

  /** Registers `promise` until it settles; returns it. */
  track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    const done = (): void => {
      this.pending.delete(promise);
    };
    promise.then(done, done);
    return promise;
  }

  /** Resolves once nothing is in flight (at once when nothing is). */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}

/** `depot` with every call tracked by `io`. */
export function depotTracked(depot: DepotPort, io: IoTracker): DepotPort {
  return {
    postBatch: (batch) => io.track(depot.postBatch(batch)),
    getParams: (have, full) => io.track(depot.getParams(have, full)),
    postStatus: (status) => io.track(depot.postStatus(status)),
  };
}
