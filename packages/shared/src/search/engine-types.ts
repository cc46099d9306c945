/** What a node's search engine returns; mapped 1:1 onto the wire's SearchHit and Facet. */
export interface EngineHolding {
  institutionId: string;
  region: string;
  proximity: "own" | "region" | "other";
  items: number;
  locations: string[];
  callNumber: string;
  /** Copies on order (acquisitions), not counted in `items`; 0 or absent when none. */
  onOrder?: number;
  expectedDate?: string;
  /** The latest year a copy is retained through for the region; 0 or absent when none. */
  retainedUntil?: number;
}

export interface EngineHit {
  id: string;
  title: string;
  author: string;
  year: string;
  publisher: string;
  language: string;
  format: string;
  isbns: string[];
  issns: string[];
  score: number;
  holdings: EngineHolding[];
}

export interface EngineResult {
  total: number;
  hits: EngineHit[];
  nextCursor?: string;
  facets?: Array<{ name: string; values: Array<{ value: string; count: number }> }>;
}

export interface EngineQuery {
  limit: number;
  cursor?: string;
  facets: boolean;
  /** The institution that asked: its own holdings first, then its region's. */
  onBehalfOf?: string;
}

/**
 * A node's own search: CQL in, one page out, on the calling thread or on a worker (search/pool.ts).
 * Throws (or rejects with) CqlParseError for a bad query; `signal` stops a search still running
 * (SearchAbortedError).
 */
export type SearchFn = (
  query: string,
  opts: EngineQuery,
  signal?: AbortSignal,
) => EngineResult | Promise<EngineResult>;
