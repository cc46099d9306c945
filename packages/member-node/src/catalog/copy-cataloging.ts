import {
  catalogPb,
  clientFor,
  type DataField,
  isControlField,
  type MarcRecord,
  type NodeConfig,
  parentTransport,
  readMarcBlobResult,
} from "@lrs/shared";
import type { MemberCatalog, UpsertResult } from "../store/catalog.js";

export interface CopyResult {
  clusterId: string;
  recordId: string;
  source: { institutionId: string; recordId: string };
  outcome: UpsertResult["outcome"];
  title: string;
}

/**
 * Copy cataloging: the source's control number moves to an 035 "(institution)id",
 * and the copy gets an id of its own in this catalog, "copy:<cluster id>", so it
 * never collides with a local record and copying the same cluster again updates
 * the same copy (with whatever record is preferred by then).
 */
export function localCopy(
  rec: MarcRecord,
  clusterId: string,
  sourceInstitution: string,
  sourceRecordId: string,
  self: string,
): { record: MarcRecord; recordId: string } {
  const recordId = `copy:${clusterId}`;
  const provenance = `(${sourceInstitution})${sourceRecordId}`;
  const fields = rec.fields.filter((f) => f.tag !== "001" && f.tag !== "003" && f.tag !== "005");
  const has035 = fields.some(
    (f) =>
      f.tag === "035" &&
      !isControlField(f) &&
      f.subfields.some((s) => s.code === "a" && s.value === provenance),
  );
  const out: MarcRecord = {
    leader: rec.leader,
    fields: [{ tag: "001", value: recordId }, { tag: "003", value: self }, ...fields],
  };
  if (!has035) {
    const field: DataField = {
      tag: "035",
      ind1: " ",
      ind2: " ",
      subfields: [{ code: "a", value: provenance }],
    };
    const at = out.fields.findIndex((f) => f.tag > "035");
    out.fields.splice(at < 0 ? out.fields.length : at, 0, field);
  }
  return { record: out, recordId };
}

/** Fetches a cluster's preferred record from the union catalog (through the regional center) into this catalog. */
export async function copyRecord(
  cfg: NodeConfig,
  catalog: MemberCatalog,
  clusterId: string,
): Promise<CopyResult> {
  const t = parentTransport(cfg);
  try {
    const res = await clientFor(catalogPb.CatalogService, t).copyRecord({ clusterId }, { timeoutMs: 15_000 });
    if (res.sourceInstitutionId === cfg.id) {
      // The cluster's preferred record is this library's own: there is nothing better to copy.
      return {
        clusterId: res.clusterId,
        recordId: res.sourceRecordId,
        source: { institutionId: res.sourceInstitutionId, recordId: res.sourceRecordId },
        outcome: "unchanged",
        title: "",
      };
    }
    const parsed = readMarcBlobResult(res.marc);
    if (!parsed.ok)
      throw new Error(`the record sent for ${clusterId} cannot be read: ${parsed.error.message}`);
    const { record, recordId } = localCopy(
      parsed.record,
      clusterId,
      res.sourceInstitutionId,
      res.sourceRecordId,
      cfg.id,
    );
    const result = catalog.upsert(record, []);
    const title = record.fields.find((f) => f.tag === "245");
    return {
      clusterId: res.clusterId,
      recordId,
      source: { institutionId: res.sourceInstitutionId, recordId: res.sourceRecordId },
      outcome: result.outcome,
      title:
        title && !isControlField(title)
          ? title.subfields
              .filter((s) => s.code === "a" || s.code === "b")
              .map((s) => s.value)
              .join(" ")
          : "",
    };
  } finally {
    t.close();
  }
}
