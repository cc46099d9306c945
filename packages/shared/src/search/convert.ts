import { create } from "@bufbuild/protobuf";
import {
  type Facet,
  FacetSchema,
  Proximity,
  type SearchHit,
  SearchHitSchema,
} from "../gen/lrs/v1/search_pb.js";
import type { EngineHit, EngineResult } from "./engine-types.js";

const PROXIMITY = { own: Proximity.OWN, region: Proximity.REGION, other: Proximity.OTHER_REGION } as const;

export function hitToWire(h: EngineHit): SearchHit {
  return create(SearchHitSchema, {
    id: h.id,
    title: h.title,
    author: h.author,
    year: h.year,
    publisher: h.publisher,
    language: h.language,
    format: h.format,
    isbns: h.isbns,
    issns: h.issns,
    score: h.score,
    holdings: h.holdings.map((x) => ({
      institutionId: x.institutionId,
      region: x.region,
      proximity: PROXIMITY[x.proximity],
      items: x.items,
      locations: x.locations,
      callNumber: x.callNumber,
      onOrder: x.onOrder ?? 0,
      expectedDate: x.expectedDate ?? "",
      retainedUntil: x.retainedUntil ?? 0,
    })),
  });
}

export function facetsToWire(r: EngineResult): Facet[] {
  return (r.facets ?? []).map((f) =>
    create(FacetSchema, {
      name: f.name,
      values: f.values.map((v) => ({ value: v.value, count: BigInt(v.count) })),
    }),
  );
}

/** Adds up the facets of several answers (the fallback merges regions). */
export function mergeFacets(lists: Facet[][]): Facet[] {
  const by = new Map<string, Map<string, bigint>>();
  for (const list of lists) {
    for (const f of list) {
      const m = by.get(f.name) ?? new Map<string, bigint>();
      for (const v of f.values) m.set(v.value, (m.get(v.value) ?? 0n) + v.count);
      by.set(f.name, m);
    }
  }
  return [...by].map(([name, m]) =>
    create(FacetSchema, {
      name,
      values: [...m]
        .sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : a[0].localeCompare(b[0])))
        .map(([value, count]) => ({ value, count })),
    }),
  );
}
