/**
 * AcquisitionsService.CheckTitle at a member (`lrs-member acquire check`, the web app's page):
 * before buying a title, who holds it and who has it on order in the region and the nation (a
 * NATIONAL search through the regional center), how often it was asked for through ILL in the
 * last year (GetTitleDemand at the regional center, which asks the others; since counting began,
 * when that is later), this library's own copies and how many are out, the other holders' copies
 * on loan now (their live availability), and the advice of advice.ts.
 */
import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Client, HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  acquisitionsPb,
  HOP_MARGIN_MS,
  mapErrors,
  normalizeIsbn,
  normalizeIssn,
  remainingMs,
  searchPb,
  tallyOf,
  titleQuery,
  ValidationError,
} from "@lrs/shared";
import { ftsIndexQuery, type MemberCatalog } from "../store/catalog.js";
import { adviseAcquisition, type TitleFacts } from "./advice.js";

const { Availability, Proximity, Scope } = searchPb;
/** Item statuses that mean the copy is out (as availability.ts reads them). */
const OUT = new Set(["on_loan", "checked_out", "loaned", "overdue"]);

export interface CheckTitleOptions {
  institutionId: string;
  catalog: MemberCatalog;
  search: Client<typeof searchPb.SearchService>;
  acquisitions: Client<typeof acquisitionsPb.AcquisitionsService>;
}

/** The title, checked: normalised ISBNs and ISSNs, or a title. */
export function checkTitleQuery(t: acquisitionsPb.TitleQuery | undefined): acquisitionsPb.TitleQuery {
  const isbns: string[] = [];
  const issns: string[] = [];
  (t?.isbns ?? []).forEach((raw, i) => {
    const n = normalizeIsbn(raw);
    if (!n) throw new ValidationError(`title.isbns[${i}]: "${raw}" is not a valid ISBN`);
    isbns.push(n);
  });
  (t?.issns ?? []).forEach((raw, i) => {
    const n = normalizeIssn(raw);
    if (!n) throw new ValidationError(`title.issns[${i}]: "${raw}" is not a valid ISSN`);
    issns.push(n);
  });
  const title = (t?.title ?? "").trim();
  if (isbns.length === 0 && issns.length === 0 && !title)
    throw new ValidationError("title: give an ISBN, an ISSN or a title");
  return create(acquisitionsPb.TitleQuerySchema, { isbns, issns, title, author: (t?.author ?? "").trim() });
}

function cqlOf(t: acquisitionsPb.TitleQuery): string {
  const ids = [...t.isbns.map((i) => `bath.isbn=${i}`), ...t.issns.map((i) => `bath.issn=${i}`)];
  // checkTitleQuery made sure there is a title when there are no identifiers.
  return ids.length > 0 ? ids.join(" or ") : titleQuery(t.title, t.author)!;
}

/** This library's own holdings of the title, from its catalog (its orders count at once, before sync). */
function ownHoldings(catalog: MemberCatalog, t: acquisitionsPb.TitleQuery) {
  const queries = [
    ...t.isbns.map((i) => ftsIndexQuery("isbn", i)),
    ...t.issns.map((i) => ftsIndexQuery("issn", i)),
    ...(t.isbns.length + t.issns.length === 0 ? [ftsIndexQuery("title", t.title, { phrase: true })] : []),
  ].filter((q): q is string => q !== undefined);
  const seen = new Set<string>();
  const holdings = [];
  for (const q of queries) {
    for (const hit of catalog.searchLocal(q, 5)) {
      if (seen.has(hit.recordId)) continue;
      seen.add(hit.recordId);
      holdings.push(...(catalog.get(hit.recordId)?.holdings ?? []));
    }
  }
  return holdings;
}

/**
 * The other holders' circulation: how many of their copies are on loan now, asked live of them
 * (CheckAvailability through the regional center: their imported item status, or their ILS over
 * NCIP where they use it). Known only when every holder asked answered.
 */
async function holdersCirculation(
  o: CheckTitleOptions,
  hit: searchPb.SearchHit | undefined,
  call: { signal: AbortSignal; timeoutMs: number },
): Promise<{
  known: boolean;
  regionOnLoan: number;
  otherRegionOnLoan: number;
  coverage: searchPb.NodeCoverage[];
}> {
  const holders = (hit?.holdings ?? []).filter((h) => h.items > 0 && h.institutionId !== o.institutionId);
  const none = { known: holders.length > 0, regionOnLoan: 0, otherRegionOnLoan: 0, coverage: [] };
  if (!hit || holders.length === 0) return none;
  let res: searchPb.CheckAvailabilityResponse;
  try {
    res = await o.search.checkAvailability(
      { clusterId: hit.id, institutionIds: holders.map((h) => h.institutionId), onBehalfOf: o.institutionId },
      call,
    );
  } catch {
    return { ...none, known: false };
  }
  const region = new Map(holders.map((h) => [h.institutionId, h.proximity]));
  let known = holders.every((h) => res.institutions.some((i) => i.institutionId === h.institutionId));
  let regionOnLoan = 0;
  let otherRegionOnLoan = 0;
  for (const inst of res.institutions) {
    if (inst.state === Availability.UNKNOWN || inst.state === Availability.UNSPECIFIED) known = false;
    const out = inst.items.filter((i) => i.state === Availability.ON_LOAN).length;
    if (region.get(inst.institutionId) === Proximity.REGION) regionOnLoan += out;
    else otherRegionOnLoan += out;
  }
  return { known, regionOnLoan, otherRegionOnLoan, coverage: res.coverage };
}

export function checkTitleService(
  o: CheckTitleOptions,
): Partial<ServiceImpl<typeof acquisitionsPb.AcquisitionsService>> {
  async function checkTitle(
    req: acquisitionsPb.CheckTitleRequest,
    ctx: HandlerContext,
  ): Promise<acquisitionsPb.CheckTitleResponse> {
    const t = checkTitleQuery(req.title);
    const timeoutMs = Math.max(1, remainingMs(ctx.timeoutMs()) - HOP_MARGIN_MS);
    const call = { signal: ctx.signal, timeoutMs };
    // A NATIONAL search answers in steps (the region first); the last step is the whole answer.
    let found: searchPb.SearchResponse | undefined;
    for await (const page of o.search.search(
      { query: cqlOf(t), scope: Scope.NATIONAL, pageSize: 5, onBehalfOf: o.institutionId },
      call,
    ))
      found = page;
    const hit = found?.hits[0];
    // The union catalog's identifiers find requests made by title or by another ISBN of the same cluster.
    const demandTitle = create(acquisitionsPb.TitleQuerySchema, {
      isbns: [...new Set([...t.isbns, ...(hit?.isbns ?? [])])],
      issns: [...new Set([...t.issns, ...(hit?.issns ?? [])])],
      title: t.title || hit?.title || "",
    });
    const demand = await o.acquisitions.getTitleDemand({ title: demandTitle, scope: Scope.NATIONAL }, call);

    const mine = ownHoldings(o.catalog, demandTitle);
    const own = tallyOf(mine);
    const ownOut = mine.filter((h) => OUT.has(h.status.toLowerCase())).length;
    const facts: TitleFacts = {
      ownCopies: own.items,
      ownOnOrder: own.onOrder,
      regionCopies: 0,
      regionOnOrder: 0,
      otherRegionCopies: 0,
      otherRegionOnOrder: 0,
      illRequests: Number(demand.requests),
      ownIllRequests: Number(demand.ownRequests),
    };
    const holders: acquisitionsPb.TitleHolder[] = [];
    for (const h of hit?.holdings ?? []) {
      holders.push(
        create(acquisitionsPb.TitleHolderSchema, {
          institutionId: h.institutionId,
          region: h.region,
          proximity: h.proximity,
          copies: h.items,
          onOrder: h.onOrder,
          expectedDate: h.expectedDate,
          retainedUntil: h.retainedUntil,
        }),
      );
      if (h.proximity === Proximity.REGION) {
        facts.regionCopies += h.items;
        facts.regionOnOrder += h.onOrder;
      } else if (h.proximity === Proximity.OTHER_REGION) {
        facts.otherRegionCopies += h.items;
        facts.otherRegionOnOrder += h.onOrder;
      }
    }
    // Counting that began less than a year ago: the requests are those since then.
    const began = demand.countingSince ? timestampDate(demand.countingSince) : undefined;
    // The window the centers counted in (a year by default).
    const yearAgo = demand.since ? timestampDate(demand.since) : new Date(0);
    const countedSince = began && began > yearAgo ? began : yearAgo;
    if (began && began > yearAgo) facts.illCountedSince = began.toISOString().slice(0, 10);
    const circulation = await holdersCirculation(o, hit, call);
    if (circulation.known) {
      facts.regionOnLoan = circulation.regionOnLoan;
      facts.otherRegionOnLoan = circulation.otherRegionOnLoan;
    }
    const advice = adviseAcquisition(facts);
    return create(acquisitionsPb.CheckTitleResponseSchema, {
      clusterId: hit?.id ?? "",
      title: hit?.title ?? t.title,
      author: hit?.author ?? t.author,
      isbns: hit?.isbns ?? t.isbns,
      holders,
      illRequests: demand.requests,
      ownIllRequests: demand.ownRequests,
      ownCopies: own.items,
      ownCopiesOnLoan: ownOut,
      verdict: advice.verdict,
      summary: advice.summary,
      reasons: advice.reasons,
      coverage: [...(found?.coverage ?? []), ...demand.coverage, ...circulation.coverage],
      illCountedSince: timestampFromDate(countedSince),
      circulationKnown: circulation.known,
      regionCopiesOnLoan: circulation.regionOnLoan,
    });
  }
  return { checkTitle: mapErrors(checkTitle) };
}
