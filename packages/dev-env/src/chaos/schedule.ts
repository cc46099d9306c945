// The chaos harness's faults, drawn from a seed: the same seed gives the same faults at the same
// moments of a run (the traffic around them depends on timing; a failed run prints its seed).

import { seededRandom } from "@lrs/shared";

export const FAULT_KINDS = [
  "kill",
  "hang",
  "link-drop",
  "link-reset",
  "link-slow",
  "clock",
  "disk-full",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Fault {
  /** When it starts, from the start of the faults. */
  atMs: number;
  kind: FaultKind;
  node: string;
  /** How long it lasts (a killed node is down this long before it is started again). */
  holdMs: number;
  /** link-slow: the delay per chunk. clock: the offset of the node's clock in minutes. */
  amount: number;
}

export interface ScheduleOptions {
  seed: number;
  /** Every node's id, and which may have their link cut (every node with a parent). */
  nodes: readonly string[];
  linked: readonly string[];
  /** The node whose data directory is a small filesystem (disk-full), if any. */
  diskNode?: string | undefined;
  /** Members (clock faults restart a member with its clock off). */
  members: readonly string[];
  /** Faults are drawn for this long, one every `meanGapMs` on average. */
  durationMs: number;
  meanGapMs: number;
  /** How long one fault lasts, at most (at least a quarter of it). */
  maxHoldMs: number;
  /** Leave out kinds this machine cannot do (no libfaketime, no small filesystem). */
  kinds?: readonly FaultKind[];
}

/**
 * The faults of a run: one at a time per node (a node is never faulted again before its last
 * fault has healed), nodes drawn evenly from what is possible. Kinds are drawn from a bag holding
 * each kind once, refilled when empty: a run long enough for as many faults as there are kinds
 * injects every kind.
 */
export function faultSchedule(o: ScheduleOptions): Fault[] {
  const rnd = seededRandom(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const kinds = (o.kinds ?? FAULT_KINDS).filter(
    (k) => (k !== "disk-full" || o.diskNode) && (!k.startsWith("link") || o.linked.length > 0),
  );
  const candidates = (kind: FaultKind) =>
    kind === "disk-full"
      ? [o.diskNode!]
      : kind === "clock"
        ? o.members
        : kind.startsWith("link")
          ? o.linked
          : o.nodes;
  const busyUntil = new Map<string, number>();
  const out: Fault[] = [];
  let bag: FaultKind[] = [];
  for (let at = o.meanGapMs * rnd(); at < o.durationMs; at += o.meanGapMs * (0.5 + rnd())) {
    if (bag.length === 0) bag = shuffled(kinds, rnd);
    // The first kind in the bag with a node free for it (the others wait for a later turn).
    const free = (kind: FaultKind) => candidates(kind).filter((n) => (busyUntil.get(n) ?? 0) <= at);
    const i = bag.findIndex((k) => free(k).length > 0);
    if (i < 0) continue;
    const kind = bag.splice(i, 1)[0]!;
    const node = pick(free(kind));
    const holdMs = Math.round(o.maxHoldMs * (0.25 + 0.75 * rnd()));
    const amount =
      kind === "link-slow" ? 50 + Math.round(rnd() * 450) : kind === "clock" ? 2 + Math.round(rnd() * 4) : 0;
    out.push({ atMs: Math.round(at), kind, node, holdMs, amount });
    // A restart after a kill or a clock change takes a while: the node stays off the list meanwhile.
    busyUntil.set(node, at + holdMs + 5_000);
  }
  return out;
}

/** `xs` in a random order (Fisher–Yates with `rnd`). */
function shuffled<T>(xs: readonly T[], rnd: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
