/**
 * The merge rules of the union catalog: which records form one cluster. The keys themselves are
 * described in match/keys.ts; this file decides what to do with them.
 *
 * Clustering is a pure function of the records present (and the operator's splits), not of the
 * order they arrived in. Applying the same records in any order, or re-applying them, gives the
 * same clusters; deleting a record gives exactly the clusters the remaining records would have
 * formed without it — a cluster that held together only through the deleted record's keys falls
 * apart again. The store recomputes only the neighbourhood of a change: every record reachable
 * from it through shared keys (and the records of the clusters it touches), which is all the
 * clustering of those records can depend on.
 *
 * Rules, in order:
 *
 * 1. **Strong keys.** Records that share any strong key (oclc:, lccn:, isbn:, issn:) are in one
 *    cluster, transitively: a record carrying the keys of two clusters merges them (the bridge).
 *    No threshold: one shared identifier is enough, because an identifier names one manifestation
 *    (see match/keys.ts for when publishers break that, and why a wrong merge is left to the
 *    operator's split rather than guessed at here).
 * 2. **Fuzzy key**, only where identifiers do not already decide. Clusters formed by rule 1 that
 *    share a fuzzy key (type | title | author | year | edition | publisher, all parts equal) merge
 *    unless they *conflict*:
 *    - their identifiers contradict each other (match/keys.ts identifiersConflict): both carry
 *      ISBNs and share none, or both carry ISSNs and share none. An ISBN or ISSN names one
 *      product: different ones mean different manifestations — a hardcover and its paperback, the
 *      print and the online serial — and the fuzzy key never overrules them. OCLC numbers and
 *      LCCNs do not veto: they number catalog records, and both WorldCat and LC hold several
 *      records for one book (LC's prepublication record 00314247 and the full one 2008543486 that
 *      replaced it, for "Kubo Sakae 'Kazanbaichi' o yomu", data/marc/OVERLAPS.md M5).
 *    - one institution has records in both. A library catalogs a manifestation once; two of its
 *      records that only the fuzzy key equates are ones it keeps apart on purpose — volume 1 and
 *      volume 2 under one title (the ProQuest Serial Set records 4348311/4348312 in
 *      data/marc/folio-mod-data-import/100.mrc differ only in 246 "v. 1"/"v. 2"), two bound-with
 *      copies, two printings. Its duplicates that share an identifier still merge under rule 1.
 *    Conflicts are not transitive, so the order matters where a record could join either of two
 *    conflicting clusters: clusters sharing a fuzzy key are taken in the order of their smallest
 *    record reference (institution id, record id) and each joins the first earlier group it does
 *    not conflict with (first fit). A record without identifiers thus joins exactly one of them,
 *    and the two conflicting clusters stay apart.
 * 3. **No keys.** A record with neither strong keys nor a fuzzy key (unreadable, or too thin to
 *    describe — no title) is a cluster of its own.
 * 4. **Splits.** An operator's split names two sides (the records split off, and the rest of the
 *    cluster at that time); a record of one side never joins a record of the other, under rule 1
 *    or 2, whatever keys they share — now or after any later change. A split only forbids; it
 *    never holds records together that the keys would not.
 */

import { identifiersConflict } from "../../match/keys.js";

/** One record as clustering sees it. */
export interface ClusterInput {
  /** A stable, unique reference of the record; also the order in which ties are decided. */
  ref: string;
  /** The institution whose record it is. */
  institution: string;
  strong: readonly string[];
  fuzzy: string | undefined;
}

/** One cluster as {@link clusterRecords} forms it. */
export interface ClusterGroup {
  /** Its records, in ref order. */
  refs: string[];
  /** True when rule 2 (the fuzzy key) joined parts of it; false when strong keys alone hold it together. */
  fuzzyJoined: boolean;
}

/** A record's place in an operator's split: which split, and which side of it. */
export interface SplitSide {
  splitId: number;
  side: 0 | 1;
}

class Component {
  /** The strong keys of all its records. */
  readonly strong = new Set<string>();
  /** Institutions with a record in the component. */
  readonly institutions = new Set<string>();
  /** Per split: bit 1 when a side-0 record is here, bit 2 when a side-1 record is. */
  readonly splits = new Map<number, number>();
  fuzzyJoined = false;
  constructor(readonly first: number) {}
}

/**
 * Groups records into clusters by the rules at the top of this file. Returns the clusters ordered
 * by their first ref.
 */
export function clusterRecords(
  records: readonly ClusterInput[],
  splits: ReadonlyMap<string, readonly SplitSide[]> = new Map(),
): ClusterGroup[] {
  const sorted = [...records].sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
  const parent = sorted.map((_, i) => i);
  const comps = sorted.map((r, i) => {
    const c = new Component(i);
    for (const k of r.strong) c.strong.add(k);
    c.institutions.add(r.institution);
    for (const s of splits.get(r.ref) ?? [])
      c.splits.set(s.splitId, (c.splits.get(s.splitId) ?? 0) | (1 << s.side));
    return c;
  });

  const find = (i: number): number => {
    let root = i;
    while (parent[root] !== root) root = parent[root]!;
    while (parent[i] !== root) {
      const next = parent[i]!;
      parent[i] = root;
      i = next;
    }
    return root;
  };

  const splitApart = (a: Component, b: Component): boolean => {
    const [small, large] = a.splits.size <= b.splits.size ? [a, b] : [b, a];
    for (const [id, bits] of small.splits) {
      const other = large.splits.get(id);
      // Together the two would hold both sides of one split.
      if (other !== undefined && (bits | other) === 3) return true;
    }
    return false;
  };
  const conflicting = (a: Component, b: Component): boolean => {
    if (identifiersConflict({ strong: [...a.strong] }, { strong: [...b.strong] })) return true;
    const [small, large] = a.institutions.size <= b.institutions.size ? [a, b] : [b, a];
    for (const i of small.institutions) if (large.institutions.has(i)) return true;
    return false;
  };
  const union = (ra: number, rb: number, fuzzy: boolean): number => {
    const [keep, gone] = ra < rb ? [ra, rb] : [rb, ra];
    parent[gone] = keep;
    const k = comps[keep]!;
    const g = comps[gone]!;
    for (const key of g.strong) k.strong.add(key);
    for (const i of g.institutions) k.institutions.add(i);
    k.fuzzyJoined ||= g.fuzzyJoined || fuzzy;
    for (const [id, bits] of g.splits) k.splits.set(id, (k.splits.get(id) ?? 0) | bits);
    return keep;
  };

  /**
   * First fit: each component, in order of its first record, joins the first group formed so far
   * that `compatible` allows, or starts a new one.
   */
  const firstFit = (
    members: readonly number[],
    fuzzy: boolean,
    compatible: (a: Component, b: Component) => boolean,
  ): void => {
    const roots = [...new Set(members.map(find))].sort((a, b) => a - b);
    const groups: number[] = [];
    for (const root of roots) {
      let placed = false;
      for (let g = 0; g < groups.length; g++) {
        const rg = find(groups[g]!);
        if (compatible(comps[rg]!, comps[root]!)) {
          groups[g] = union(rg, root, fuzzy);
          placed = true;
          break;
        }
      }
      if (!placed) groups.push(root);
    }
  };

  const byKey = (pick: (r: ClusterInput) => readonly string[]): Map<string, number[]> => {
    const m = new Map<string, number[]>();
    sorted.forEach((r, i) => {
      for (const k of pick(r)) {
        const list = m.get(k);
        if (list) list.push(i);
        else m.set(k, [i]);
      }
    });
    return new Map([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  };

  // Rule 1, then rule 2; rule 4 is checked by both.
  for (const members of byKey((r) => r.strong).values()) {
    if (members.length > 1) firstFit(members, false, (a, b) => !splitApart(a, b));
  }
  for (const members of byKey((r) => (r.fuzzy === undefined ? [] : [r.fuzzy])).values()) {
    if (members.length > 1) firstFit(members, true, (a, b) => !splitApart(a, b) && !conflicting(a, b));
  }

  const out = new Map<number, string[]>();
  sorted.forEach((r, i) => {
    const root = find(i);
    const list = out.get(root);
    if (list) list.push(r.ref);
    else out.set(root, [r.ref]);
  });
  // Roots are the smallest index of their component, so order by root is order by first ref.
  return [...out.entries()]
    .sort(([a], [b]) => a - b)
    .map(([root, refs]) => ({ refs, fuzzyJoined: comps[root]!.fuzzyJoined }));
}
