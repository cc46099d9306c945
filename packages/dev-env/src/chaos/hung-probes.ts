// A hung node (alive, its port open, not answering: SIGSTOP) must cost every fan-out at most its
// share of the deadline: NATIONAL searches (the national center, a peer regional center), the
// availability of a REGION search (a member), and rota building (the national center, a member of
// the own region, a peer regional center). Each probe hangs one node, makes the call with a
// deadline, and measures how long the answer took and whether the rest of the answer is there.
import { type Client, createClient } from "@connectrpc/connect";
import { illPb, illServicePb, NATIONAL_SHARE, searchPb } from "@lrs/shared";
import type { Federation } from "../federation.js";

export interface ProbeResult {
  name: string;
  hung: string;
  elapsedMs: number;
  /** What the call may take at most with that node hung. */
  budgetMs: number;
  /** What the answer must still contain, and whether it did. */
  expect: string;
  complete: boolean;
  ok: boolean;
  /** What the answer said of each node (a search's coverage, a rota's lenders), or the error. */
  detail: string;
}

export interface ProbeSetup {
  fed: Federation;
  national: string;
  /** Two regions: `a` asks, `b` is the other. */
  a: { center: string; asker: string; holder: string };
  b: { center: string; holder: string };
  /** ISBN held by a.holder and b.holder (and nobody else). */
  sharedIsbn: string;
  /** A word that finds titles of every member. */
  term: string;
  /** The caller's deadline. */
  deadlineMs?: number;
  /** Time the loaded machine may add to a budget. */
  slackMs?: number;
}

/** Hangs `id` (SIGSTOP) for the length of `fn`, then lets it go on (SIGCONT). */
export async function whileHung<T>(fed: Federation, id: string, fn: () => Promise<T>): Promise<T> {
  const pid = fed.pid(id);
  if (!pid) throw new Error(`${id} is not running`);
  process.kill(pid, "SIGSTOP");
  try {
    return await fn();
  } finally {
    process.kill(pid, "SIGCONT");
  }
}

export async function probeHungNodes(s: ProbeSetup): Promise<ProbeResult[]> {
  const { fed } = s;
  const deadlineMs = s.deadlineMs ?? 8_000;
  const slackMs = s.slackMs ?? 2_000;
  const share = Math.round(deadlineMs * NATIONAL_SHARE) + slackMs;
  const t = fed.transport(s.a.asker);
  const search = createClient(searchPb.SearchService, t.transport);
  const results: ProbeResult[] = [];
  const timed = async <T>(
    fn: () => Promise<T>,
  ): Promise<{ value: T | undefined; ms: number; error?: string }> => {
    const started = Date.now();
    try {
      return { value: await fn(), ms: Date.now() - started };
    } catch (err) {
      return { value: undefined, ms: Date.now() - started, error: (err as Error).message };
    }
  };
  const holdersOf = async (scope: searchPb.Scope, availability = false, query = s.term) => {
    let last: searchPb.SearchResponse | undefined;
    for await (const m of search.search(
      { query, scope, pageSize: 50, availability },
      { timeoutMs: deadlineMs },
    ))
      last = m;
    return last;
  };
  const held = (page: searchPb.SearchResponse | undefined, who: string) =>
    (page?.hits ?? []).some((h) => h.holdings.some((x) => x.institutionId === who));
  const rota = () =>
    fed.withClient(
      s.a.center,
      illServicePb.IllService,
      (c: Client<typeof illServicePb.IllService>) =>
        c.buildRota(
          {
            itemIds: [{ bibliographicItemIdentifierCode: "ISBN", bibliographicItemIdentifier: s.sharedIsbn }],
            serviceType: illPb.ServiceType.LOAN,
            requestingAgencyId: s.a.asker,
          },
          { timeoutMs: deadlineMs },
        ),
      s.a.asker,
    );
  const inRota = (r: illServicePb.BuildRotaResponse | undefined, who: string) =>
    (r?.rota ?? []).some((c) => c.agencyId === who);
  const probe = async <T>(
    name: string,
    hung: string,
    budgetMs: number,
    expect: string,
    call: () => Promise<T>,
    complete: (v: T | undefined) => boolean,
  ) => {
    const { value, ms, error } = await whileHung(fed, hung, () => timed(call));
    const ok = ms <= budgetMs && complete(value);
    const detail = error ?? describe(value);
    results.push({ name, hung, elapsedMs: ms, budgetMs, expect, complete: complete(value), ok, detail });
  };

  // The NATIONAL searches ask for the title both regions hold: what each region answers is then
  // one hit, and the answer must carry the other region's (a search for a common word would
  // answer a page that one region's hits may fill, whatever the other region said).
  try {
    await probe(
      "NATIONAL search",
      s.national,
      share,
      `${s.b.holder}'s copy (through the peer regional center)`,
      () => holdersOf(searchPb.Scope.NATIONAL, false, s.sharedIsbn),
      (p) => held(p, s.b.holder),
    );
    await probe(
      "NATIONAL search",
      s.b.center,
      share,
      `${s.a.holder}'s copy`,
      () => holdersOf(searchPb.Scope.NATIONAL, false, s.sharedIsbn),
      (p) => held(p, s.a.holder),
    );
    await probe(
      "REGION search with availability",
      s.a.holder,
      share,
      `an answer with ${s.a.holder} reported as not answering`,
      () => holdersOf(searchPb.Scope.REGION, true),
      (p) =>
        (p?.coverage ?? []).some(
          (c) => c.nodeId === s.a.holder && c.status !== searchPb.NodeCoverage_Status.ANSWERED,
        ),
    );
    await probe("rota", s.national, share, `${s.a.holder} in the rota`, rota, (r) => inRota(r, s.a.holder));
    await probe("rota", s.a.holder, share, `${s.b.holder} in the rota`, rota, (r) => inRota(r, s.b.holder));
    await probe("rota", s.b.center, share, `${s.a.holder} in the rota`, rota, (r) => inRota(r, s.a.holder));
  } finally {
    t.close();
  }
  return results;
}

/** A search answer's coverage (node: status, hits, detail) or a rota's lenders, in a line. */
function describe(v: unknown): string {
  if (v && typeof v === "object" && "coverage" in v) {
    const page = v as searchPb.SearchResponse;
    return page.coverage
      .map(
        (c) =>
          `${c.nodeId}${c.fallback ? " (fallback)" : ""}: ${searchPb.NodeCoverage_Status[c.status]} ${c.hits} hits in ${c.elapsedMs} ms${c.detail ? ` (${c.detail})` : ""}`,
      )
      .join("; ");
  }
  if (v && typeof v === "object" && "rota" in v)
    return `rota: ${(v as illServicePb.BuildRotaResponse).rota.map((c) => c.agencyId).join(", ")}`;
  return "no answer";
}
