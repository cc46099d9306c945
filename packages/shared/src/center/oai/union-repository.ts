/**
 * A center's union catalog as an OAI-PMH repository: one item per cluster (live or deleted), in
 * the order of the catalog's OAI log; sets per holding institution (`institution:<id>`) and per
 * region (`region:<code>`), each under a parent set (`institution`, `region`) holding everything.
 */
import type { MarcRecord } from "../../marc/record.js";
import type { OaiLogEntry, UnionOaiLog } from "../union/oai-log.js";
import type { OaiItem, OaiRepository } from "./provider.js";
import type { OaiDateRange } from "./request.js";

export interface UnionOaiRepositoryOptions {
  log: UnionOaiLog;
  nodeId: string;
  repositoryName: string;
  adminEmails: readonly string[];
  regionOf: (institutionId: string) => string | undefined;
  /** A name for an institution's set; its id when unknown. */
  nameOf?: (institutionId: string) => string | undefined;
}

/** `institutions` of the holders to keep; undefined (no filter) is never stored here. */
type Filter = readonly string[];

export function unionOaiRepository(o: UnionOaiRepositoryOptions): OaiRepository {
  const namespace = `${o.nodeId}.lrs`;
  const prefix = `oai:${namespace}:c`;
  // In a set's list, a cluster none of the set's institutions holds any more (it held one once)
  // is deleted: that is how the set's harvester learns it left.
  const toItem = (e: OaiLogEntry, set?: Filter): OaiItem => {
    const all = o.log.holders(e.cluster);
    const current = all.filter((h) => h.current).map((h) => h.institutionId);
    const left = set !== undefined && !current.some((i) => set.includes(i));
    const deleted = e.deleted || left;
    const holders = deleted ? all.map((h) => h.institutionId) : current;
    const regions = [...new Set(holders.map((h) => o.regionOf(h)).filter((r): r is string => !!r))].sort();
    return {
      identifier: `${prefix}${e.cluster}`,
      seq: e.seq,
      changedAt: e.changedAt,
      deleted,
      setSpecs: [...holders.map((h) => `institution:${h}`), ...regions.map((r) => `region:${r}`)],
    };
  };
  const regions = () => {
    const by = new Map<string, string[]>();
    for (const i of o.log.institutions()) {
      const r = o.regionOf(i);
      if (r) by.set(r, [...(by.get(r) ?? []), i]);
    }
    return by;
  };
  return {
    repositoryName: o.repositoryName,
    adminEmails: o.adminEmails,
    identifierNamespace: namespace,
    sampleIdentifier: `${prefix}1`,
    earliestDatestamp: () => o.log.earliest(),
    sets() {
      const institutions = o.log.institutions();
      return [
        { spec: "institution", name: "By holding institution" },
        ...institutions.map((i) => ({ spec: `institution:${i}`, name: `Held by ${o.nameOf?.(i) ?? i}` })),
        { spec: "region", name: "By region of the holding institutions" },
        ...[...regions().keys()].sort().map((r) => ({ spec: `region:${r}`, name: `Held in region ${r}` })),
      ];
    },
    setFilter(spec): Filter | undefined {
      if (spec === "institution" || spec === "region") return o.log.institutions();
      if (spec.startsWith("institution:")) {
        const id = spec.slice("institution:".length);
        return o.log.institutions().includes(id) ? [id] : undefined;
      }
      if (spec.startsWith("region:")) return regions().get(spec.slice("region:".length));
      return undefined;
    },
    range: (r: OaiDateRange) => o.log.range(r.from, r.untilExclusive),
    list: (after, upto, set, limit) =>
      o.log
        .list(after, upto, set as Filter | undefined, limit)
        .map((e) => toItem(e, set as Filter | undefined)),
    count: (after, upto, set) => o.log.count(after, upto, set as Filter | undefined),
    item(identifier) {
      if (!identifier.startsWith(prefix)) return undefined;
      const digits = identifier.slice(prefix.length);
      if (!/^[1-9]\d{0,15}$/.test(digits)) return undefined;
      const e = o.log.entry(Number(digits));
      return e ? toItem(e) : undefined;
    },
    record(item): MarcRecord | undefined {
      return o.log.record(Number(item.identifier.slice(prefix.length)));
    },
  };
}
