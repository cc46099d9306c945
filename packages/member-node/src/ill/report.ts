// Turnaround per status: how long this library's ILL requests stayed in each state, from their
// timelines (every transition is timestamped), and how they ended. `lrs-member ill report`.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { illServicePb } from "@lrs/shared";

export interface StateTime {
  readonly role: string;
  readonly state: string;
  /** Stays in this state that ended (the request moved on). */
  readonly count: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly maxMs: number;
  /** Requests in this state now (their stay is not over, so not in the figures). */
  readonly current: number;
}

export interface TurnaroundReport {
  readonly requests: number;
  readonly since: Date;
  /** Per role and state, in the order states were first reached. */
  readonly states: readonly StateTime[];
  /** Requests by role and the state they are in now. */
  readonly outcomes: ReadonlyArray<{ role: string; state: string; count: number }>;
  /** Created → first terminal state, per role and service type. */
  readonly endToEnd: ReadonlyArray<{
    role: string;
    type: string;
    count: number;
    p50Ms: number;
    p90Ms: number;
  }>;
}

/** Terminal states of both machines: the end of a request's turnaround. */
const TERMINAL = new Set([
  "completed",
  "copy_completed",
  "completed_without_return",
  "cancelled",
  "end_of_rota",
  "unfilled",
]);

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The report over requests created at `since` or later (timelines included, as ListRequests gives them). */
export function turnaround(requests: readonly illServicePb.StaffRequest[], since: Date): TurnaroundReport {
  const stays = new Map<string, { role: string; state: string; ms: number[]; current: number }>();
  const outcomes = new Map<string, number>();
  const ends = new Map<string, number[]>();
  let counted = 0;
  const stay = (role: string, state: string) => {
    const key = `${role}\u0000${state}`;
    let s = stays.get(key);
    if (!s) {
      s = { role, state, ms: [], current: 0 };
      stays.set(key, s);
    }
    return s;
  };
  for (const r of requests) {
    const created = r.createdAt ? timestampDate(r.createdAt) : undefined;
    if (!created || created < since) continue;
    counted++;
    const entries = r.timeline.filter((t) => t.at && !t.repeated);
    const at = (i: number) => timestampDate(entries[i]!.at!).getTime();
    // Runs of entries in one state: the stay lasts from the first of the run to the next change.
    for (let i = 0; i < entries.length; ) {
      const state = entries[i]!.to;
      let j = i + 1;
      while (j < entries.length && entries[j]!.to === state) j++;
      if (j < entries.length) stay(r.role, state).ms.push(at(j) - at(i));
      else if (!TERMINAL.has(state)) stay(r.role, state).current++;
      i = j;
    }
    outcomes.set(`${r.role}\u0000${r.status}`, (outcomes.get(`${r.role}\u0000${r.status}`) ?? 0) + 1);
    const end = entries.find((t) => TERMINAL.has(t.to));
    if (end) {
      const key = `${r.role}\u0000${r.type}`;
      ends.set(key, [...(ends.get(key) ?? []), timestampDate(end.at!).getTime() - created.getTime()]);
    }
  }
  return {
    requests: counted,
    since,
    states: [...stays.values()].map((s) => {
      const sorted = [...s.ms].sort((a, b) => a - b);
      return {
        role: s.role,
        state: s.state,
        count: sorted.length,
        p50Ms: percentile(sorted, 50),
        p90Ms: percentile(sorted, 90),
        maxMs: sorted.at(-1) ?? 0,
        current: s.current,
      };
    }),
    outcomes: [...outcomes].map(([k, count]) => {
      const [role, state] = k.split("\u0000") as [string, string];
      return { role, state, count };
    }),
    endToEnd: [...ends].map(([k, ms]) => {
      const [role, type] = k.split("\u0000") as [string, string];
      const sorted = [...ms].sort((a, b) => a - b);
      return {
        role,
        type,
        count: sorted.length,
        p50Ms: percentile(sorted, 50),
        p90Ms: percentile(sorted, 90),
      };
    }),
  };
}

/** 259200 → "3d", 90 → "1m 30s": a duration in seconds as staff think of it (the two largest units). */
export function humanSeconds(total: number): string {
  const parts: string[] = [];
  let rest = Math.round(total);
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3_600],
    ["m", 60],
    ["s", 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.slice(0, 2).join(" ") || "0s";
}

/** 450 → "450 ms", 61000 → "1m 1s". */
export function humanMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : humanSeconds(ms / 1000);
}
