// Where a swarm tap's CPU goes: the production firmware (what boards run: firmware/, hal/, the
// kernel and its host glue in assembly/), the simulation around it (card, PSAM, PN532, line,
// storage and clock twins, the session), the swarm's checks, and the runtime (garbage
// collection, promise jobs, node itself). Sampled with V8's CPU profiler over a few seeds.
// The production share bounds the swarm: no speed-up of the twins or the checks can take it
// past the taps per second the firmware alone allows (issue 11's 2,000 a CPU second).

import { Session } from 'node:inspector';

/** Shares of sampled CPU time, 0..1 each, summing to 1. */
export interface SwarmCpuSplit {
  readonly production: number;
  readonly simulation: number;
  readonly checks: number;
  readonly runtime: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly url: string; readonly functionName: string };
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** The swarm's invariant checkers (host-sim/src/swarm): the rest of host-sim is simulation. */
const CHECKER = /\/host-sim\/src\/swarm\/swarm_(model|journal|pan|tunion_blocks|depot)\.[jt]s$/;
/** Our code, built (dist/) or run from source (tests): its top directory says whose it is. */
const OURS = /\/(firmware\/src|hal\/src|assembly\/host|host-sim\/src)\/|^wasm:/;
const PRODUCTION = /\/(firmware\/src|hal\/src|assembly\/host)\/|^wasm:/;

type Category = keyof SwarmCpuSplit;

/** A sample's category: a checker anywhere on its stack, else its innermost code of ours. */
function categoryOf(leaf: ProfileNode, parentOf: ReadonlyMap<number, ProfileNode>): Category {
  let inner: string | null = null;
  for (let n: ProfileNode | undefined = leaf; n !== undefined; n = parentOf.get(n.id)) {
    const url = n.callFrame.url;
    if (CHECKER.test(url)) return 'checks';
    if (inner === null && OURS.test(url)) inner = url;
  }
  if (inner === null) return 'runtime';
  return PRODUCTION.test(inner) ? 'production' : 'simulation';
}

/** Splits `profile`'s samples into the four categories. */
export function splitProfile(profile: Profile): SwarmCpuSplit {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, ProfileNode>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n);
  const spent: Record<Category, number> = { production: 0, simulation: 0, checks: 0, runtime: 0 };
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const us = profile.timeDeltas[i] ?? 0;
    if (node === undefined || node.callFrame.functionName === '(idle)') return;
    spent[categoryOf(node, parentOf)] += us;
    total += us;
  });
  const share = (c: Category): number => (total === 0 ? 0 : spent[c] / total);
  return {
    production: share('production'),
    simulation: share('simulation'),
    checks: share('checks'),
    runtime: share('runtime'),
  };
}

function post<T>(session: Session, method: string, params: object = {}): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    session.post(method, params, (error, result) => {
      if (error !== null) reject(error);
      else resolve(result as T);
    });
  });
}

/** Runs `work` under the CPU profiler (100 µs sampling) and splits its samples. */
export async function swarmCpuSplit(work: () => Promise<void>): Promise<SwarmCpuSplit> {
  const session = new Session();
  session.connect();
  try {
    await post(session, 'Profiler.enable');
    await post(session, 'Profiler.setSamplingInterval', { interval: 100 });
    await post(session, 'Profiler.start');
    await work();
    const { profile } = await post<{ profile: Profile }>(session, 'Profiler.stop');
    return splitProfile(profile);
  } finally {
    session.disconnect();
  }
}
