/**
 * The balancer's choice among live instances: power of two choices on load ratio.
 *
 * Two distinct candidates are drawn at random and the one with the lower score wins (ties: the
 * first drawn, itself random). Against picking the global minimum, this keeps several balancers
 * (each with a slightly stale view) from all piling onto the same least-loaded instance, while
 * still steering clearly away from busy ones. Instances that are full (by their real capacity)
 * are only considered when every instance is full; the loader then refuses with 10110 and the
 * caller may retry once elsewhere.
 */

export interface Pickable {
  /** Load ratio to minimise: used ÷ effective capacity (see Endpoint.score). */
  score(now: number): number;
  /** No slot left by real capacity (a pick would most likely be refused with 10110). */
  full(): boolean;
}

/**
 * Picks from `candidates` (all live); `exclude` is skipped (the instance a retry comes from).
 * `random` returns [0, 1) (injectable for tests). Undefined when nothing is left to pick.
 */
export function pickTwoChoices<T extends Pickable>(
  candidates: readonly T[],
  exclude?: T,
  now = performance.now(),
  random: () => number = Math.random,
): T | undefined {
  let open: T[] = [];
  for (const c of candidates) if (c !== exclude && !c.full()) open.push(c);
  if (open.length === 0) open = candidates.filter((c) => c !== exclude);
  if (open.length <= 1) return open[0];
  const i = Math.floor(random() * open.length);
  let j = Math.floor(random() * (open.length - 1));
  if (j >= i) j++;
  const a = open[i] as T;
  const b = open[j] as T;
  return b.score(now) < a.score(now) ? b : a;
}
