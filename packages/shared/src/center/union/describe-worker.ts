/**
 * A worker thread of a center's describe pool (describe-pool.ts): what the union catalog derives
 * from each record of a pushed batch (describe.ts), worked out beside the thread that writes.
 */
import { describeRecord, type RecordDescription } from "./describe.js";

export function describe(marcs: Uint8Array[]): RecordDescription[] {
  return marcs.map((marc) => describeRecord(marc));
}
