// Traffic blocks between their wire form (traffic.proto) and the store's, with the checks a
// receiver makes before it keeps anything: sizes within limits, counts that are counts.
import { create } from "@bufbuild/protobuf";
import {
  TrafficBlockSchema,
  TrafficCellSchema,
  type TrafficBlock as WireBlock,
  type TrafficCell as WireCell,
} from "../gen/lrs/v1/traffic_pb.js";
import { ValidationError } from "../rpc/errors.js";
import type { TrafficBlock, TrafficCell } from "./cells.js";
import { BUCKETS, trimHistogram } from "./histogram.js";

/** Blocks in one report. */
export const MAX_REPORT_BLOCKS = 500;
/** Cells in one block. */
export const MAX_BLOCK_CELLS = 5_000;
/** Characters in a kind, detail, caller or callee. */
export const MAX_LABEL = 200;
/** Health entries in one report (a regional center's members and itself). */
export const MAX_REPORT_HEALTH = 2_000;

export function cellToWire(c: TrafficCell): WireCell {
  return create(TrafficCellSchema, {
    kind: c.kind,
    detail: c.detail,
    caller: c.caller,
    callee: c.callee,
    count: BigInt(c.count),
    errors: BigInt(c.errors),
    items: BigInt(c.items),
    latencySumMs: c.latencySumMs,
    latencyMaxMs: c.latencyMaxMs,
    latencyBuckets: trimHistogram(c.latency).map((n) => BigInt(n)),
  });
}

export function blockToWire(b: TrafficBlock): WireBlock {
  return create(TrafficBlockSchema, {
    nodeId: b.nodeId,
    minute: BigInt(b.minute),
    version: BigInt(b.version),
    minutes: b.minutes,
    cells: b.cells.map(cellToWire),
  });
}

/** A block from the wire, for display: no checks. */
export function blockFromWire(b: WireBlock): TrafficBlock {
  return {
    nodeId: b.nodeId,
    minute: Number(b.minute),
    minutes: b.minutes || 1,
    version: Number(b.version),
    cells: b.cells.map((c) => ({
      kind: c.kind,
      detail: c.detail,
      caller: c.caller,
      callee: c.callee,
      count: Number(c.count),
      errors: Number(c.errors),
      items: Number(c.items),
      latencySumMs: c.latencySumMs,
      latencyMaxMs: c.latencyMaxMs,
      latency: c.latencyBuckets.map(Number),
    })),
  };
}

function checkLabel(value: string, where: string): void {
  if (value.length > MAX_LABEL)
    throw new ValidationError(`${where} is ${value.length} characters, over the limit of ${MAX_LABEL}`);
}

/**
 * A reported block, checked: throws ValidationError naming the block, the cell and what is wrong
 * (over a limit: with the limit).
 */
export function checkedBlockFromWire(b: WireBlock, index: number): TrafficBlock {
  const where = `block ${index + 1} (${b.nodeId || "no node"}, minute ${b.minute})`;
  if (!b.nodeId) throw new ValidationError(`${where}: node_id is required`);
  checkLabel(b.nodeId, `${where}: node_id`);
  if (b.minute <= 0n) throw new ValidationError(`${where}: minute must be after the Unix epoch`);
  if (b.version <= 0n) throw new ValidationError(`${where}: version must be positive`);
  if (b.cells.length > MAX_BLOCK_CELLS)
    throw new ValidationError(`${where}: ${b.cells.length} cells, over the limit of ${MAX_BLOCK_CELLS}`);
  if (b.minutes > 1) throw new ValidationError(`${where}: a reported block covers one minute`);
  b.cells.forEach((c, i) => {
    const at = `${where}, cell ${i + 1}`;
    if (!c.kind) throw new ValidationError(`${at}: kind is required`);
    if (c.latencyBuckets.length > BUCKETS)
      throw new ValidationError(
        `${at}: ${c.latencyBuckets.length} latency buckets, over the ${BUCKETS} there are`,
      );
    if (
      !Number.isFinite(c.latencySumMs) ||
      c.latencySumMs < 0 ||
      !Number.isFinite(c.latencyMaxMs) ||
      c.latencyMaxMs < 0
    )
      throw new ValidationError(`${at}: latencies must be finite and not negative`);
    checkLabel(c.kind, `${at}: kind`);
    checkLabel(c.detail, `${at}: detail`);
    checkLabel(c.caller, `${at}: caller`);
    checkLabel(c.callee, `${at}: callee`);
  });
  // Checked: the same as shown (a reported block covers one minute, so `minutes` is 1).
  return blockFromWire(b);
}
