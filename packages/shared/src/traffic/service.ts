// TrafficService: ReportTraffic (from the tier below), GetTraffic and WatchTraffic (the node's own
// CLI, and the dashboard's data at the national center).
import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { institutionsOf } from "../directory/lookup.js";
import type { DirectorySource } from "../directory/source.js";
import { Tier } from "../gen/lrs/v1/common_pb.js";
import {
  GetTrafficResponseSchema,
  type NodeHealth,
  RejectedBlockSchema,
  ReportTrafficResponseSchema,
  type TrafficService,
  WatchTrafficResponseSchema,
} from "../gen/lrs/v1/traffic_pb.js";
import type { Logger } from "../log.js";
import { mapErrors, ValidationError } from "../rpc/errors.js";
import { peerKey } from "../rpc/peer.js";
import type { NodeIdentity } from "../tls/pki.js";
import { AsyncQueue } from "../util/async-queue.js";
import { minuteOf, type TrafficBlock } from "./cells.js";
import { blockToWire, checkedBlockFromWire, MAX_REPORT_BLOCKS, MAX_REPORT_HEALTH } from "./convert.js";
import type { TrafficChange, TrafficStore } from "./store.js";

/** Cells one GetTraffic answer may carry; ask for larger steps or a shorter span beyond it. */
export const MAX_GET_CELLS = 200_000;
/** How long WatchTraffic gathers changes before it sends them. */
const WATCH_COALESCE_MS = 500;

export interface TrafficServiceOptions {
  self: NodeIdentity;
  store: TrafficStore;
  directory: DirectorySource;
  log: Logger;
  /** This node's own health, as it would report it. */
  ownHealth: () => NodeHealth;
  /** A report arrived and was stored (to wake this node's own report upward). */
  onReport?: () => void;
  /** Ends WatchTraffic streams at shutdown. */
  streams?: AbortSignal;
  now?: () => number;
}

/** Whether a reporter may report a node's figures: yes, no (and why), or not yet known here. */
export type ReportRight = true | { refuse: string } | { unknown: string };

/**
 * Who may report whose figures: every node its own; a regional center those of its own region's
 * members (as the directory knows them), which it received from them.
 */
export function reportRight(
  reporter: NodeIdentity,
  self: NodeIdentity,
  nodeId: string,
  directory: DirectorySource,
): ReportRight {
  if (nodeId === reporter.id) return true;
  if (reporter.tier !== Tier.REGIONAL || self.tier !== Tier.NATIONAL)
    return { refuse: `${reporter.id} may report its own figures only, not ${nodeId}'s` };
  const inst = institutionsOf(directory).get(nodeId);
  if (!inst) return { unknown: `${nodeId} is not in the directory of ${self.id} yet` };
  if (inst.tier !== Tier.MEMBER || inst.region !== reporter.region)
    return { refuse: `${nodeId} is not a member of region ${reporter.region}` };
  return true;
}

function spanOf(
  store: TrafficStore,
  since: Date | undefined,
  until: Date | undefined,
  now: number,
): { sinceMinute: number; untilMinute: number } {
  const untilMinute = until ? minuteOf(until.getTime()) : minuteOf(now) + 1;
  const sinceMinute = Math.max(
    store.oldestMinute(now),
    since ? minuteOf(since.getTime()) : minuteOf(now - 3_600_000),
  );
  if (untilMinute <= sinceMinute)
    throw new ValidationError("until must be after since (and since within the retention)");
  return { sinceMinute, untilMinute };
}

export function trafficService(o: TrafficServiceOptions): ServiceImpl<typeof TrafficService> {
  const now = o.now ?? Date.now;
  const health = () => [o.ownHealth(), ...o.store.health().filter((h) => h.nodeId !== o.self.id)];

  return {
    reportTraffic: mapErrors(async (req, ctx: HandlerContext) => {
      const reporter = ctx.values.get(peerKey).identity!;
      if (req.blocks.length > MAX_REPORT_BLOCKS)
        throw new ConnectError(
          `report of ${req.blocks.length} blocks is over the limit of ${MAX_REPORT_BLOCKS}`,
          Code.ResourceExhausted,
        );
      if (req.health.length > MAX_REPORT_HEALTH)
        throw new ConnectError(
          `report of ${req.health.length} health entries is over the limit of ${MAX_REPORT_HEALTH}`,
          Code.ResourceExhausted,
        );
      const blocks = req.blocks.map((b, i) => checkedBlockFromWire(b, i));
      const rights = new Map<string, ReportRight>();
      const rightOf = (nodeId: string) => {
        let r = rights.get(nodeId);
        if (!r) {
          r = reportRight(reporter, o.self, nodeId, o.directory);
          rights.set(nodeId, r);
        }
        return r;
      };
      // A member the directory does not have yet (its registration may still be on its way):
      // the reporter keeps the report and sends it again later, nothing is dropped.
      for (const b of blocks) {
        const r = rightOf(b.nodeId);
        if (r !== true && "unknown" in r) throw new ConnectError(r.unknown, Code.FailedPrecondition);
      }
      const res = o.store.receive(blocks, (nodeId) => {
        const r = rightOf(nodeId);
        return r === true ? true : "refuse" in r ? r.refuse : r.unknown;
      });
      const at = timestampFromMs(now());
      const kept: NodeHealth[] = [];
      for (const h of req.health) {
        if (h.nodeId === reporter.id) kept.push({ ...h, observedAt: at });
        else if (rightOf(h.nodeId) === true && h.observedAt) kept.push(h);
      }
      o.store.putHealth(kept);
      if (res.rejected.length > 0)
        o.log.warn({ reporter: reporter.id, rejected: res.rejected.slice(0, 5) }, "traffic blocks refused");
      if (res.accepted > 0 || kept.length > 0) o.onReport?.();
      return create(ReportTrafficResponseSchema, {
        accepted: res.accepted,
        duplicates: res.duplicates,
        expired: res.expired,
        rejected: res.rejected.map((r) =>
          create(RejectedBlockSchema, { nodeId: r.nodeId, minute: BigInt(r.minute), reason: r.reason }),
        ),
      });
    }),

    getTraffic: mapErrors(async (req) => {
      const t = now();
      const { sinceMinute, untilMinute } = spanOf(
        o.store,
        req.since ? timestampDate(req.since) : undefined,
        req.until ? timestampDate(req.until) : undefined,
        t,
      );
      const blocks = o.store.rows({
        sinceMinute,
        untilMinute,
        stepMinutes: req.stepMinutes,
        kinds: req.kinds,
      });
      const cells = blocks.reduce((n, b) => n + b.cells.length, 0);
      if (cells > MAX_GET_CELLS)
        throw new ConnectError(
          `${cells} figures are over the limit of ${MAX_GET_CELLS} for one answer: ask for fewer kinds, a larger step or a shorter span`,
          Code.ResourceExhausted,
        );
      return create(GetTrafficResponseSchema, {
        blocks: blocks.map(blockToWire),
        health: health(),
        since: timestampFromMs(sinceMinute * 60_000),
        until: timestampFromMs(untilMinute * 60_000),
        retentionMinutes: o.store.retentionMinutes,
      });
    }),

    async *watchTraffic(req, ctx: HandlerContext) {
      const signal = o.streams ? AbortSignal.any([ctx.signal, o.streams]) : ctx.signal;
      const queue = new AsyncQueue<TrafficChange>(signal);
      const off = o.store.onChange((c) => queue.push(c));
      try {
        const t = now();
        const { sinceMinute, untilMinute } = spanOf(
          o.store,
          req.since ? timestampDate(req.since) : undefined,
          undefined,
          t,
        );
        const snapshot: TrafficBlock[] = o.store.rows({ sinceMinute, untilMinute, stepMinutes: 1 });
        yield create(WatchTrafficResponseSchema, {
          snapshot: true,
          blocks: snapshot.map(blockToWire),
          health: health(),
          asOf: timestampFromMs(t),
        });
        const pending = new Map<string, { nodeId: string; minute: number }>();
        let healthChanged = false;
        let flushAt = 0;
        for await (const c of queue) {
          for (const k of c.blocks) pending.set(`${k.nodeId}\u0001${k.minute}`, k);
          healthChanged ||= c.health;
          // Gather what arrives together (a regional center's report holds many blocks).
          if (flushAt === 0) flushAt = Date.now() + WATCH_COALESCE_MS;
          const wait = flushAt - Date.now();
          if (wait > 0) {
            await new Promise((r) => setTimeout(r, wait));
            if (signal.aborted) return;
          }
          flushAt = 0;
          const keys = [...pending.values()];
          pending.clear();
          const blocks = o.store.blocks(keys);
          const withHealth = healthChanged;
          healthChanged = false;
          yield create(WatchTrafficResponseSchema, {
            snapshot: false,
            blocks: blocks.map(blockToWire),
            health: withHealth ? health() : [],
            asOf: timestampFromMs(now()),
          });
        }
      } finally {
        off();
      }
    },
  };
}
