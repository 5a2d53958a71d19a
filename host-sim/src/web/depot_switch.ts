// A bus's link to the depot that a person at the page can cut and restore.

import type {
  DepotBatch,
  DepotBatchAck,
  DepotParams,
  DepotPort,
  DepotResult,
  DepotStatus,
} from '../../../firmware/src/app/upload/depot_port.js';

/**
 * Forwards every call to `inner` while online; offline, every call fails as a refused
 * connection would ('network'), so the uploader backs off and the journal's backlog grows
 * until the link is back, as on a bus out of coverage.
 */
export class DepotSwitch implements DepotPort {
  online = true;

  constructor(private readonly inner: DepotPort) {}

  postBatch(batch: DepotBatch): Promise<DepotResult<DepotBatchAck>> {
    return this.online ? this.inner.postBatch(batch) : this.refused();
  }

  getParams(haveVersion: number): Promise<DepotResult<DepotParams | null>> {
    return this.online ? this.inner.getParams(haveVersion) : this.refused();
  }

  postStatus(status: DepotStatus): Promise<DepotResult<void>> {
    return this.online ? this.inner.postStatus(status) : this.refused();
  }

  private refused(): Promise<DepotResult<never>> {
    return Promise.resolve({ ok: false, error: 'network', httpStatus: null,
      detail: 'ECONNREFUSED (link cut on the web page)' });
  }
}
