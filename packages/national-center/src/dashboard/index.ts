// The national dashboard as part of the national center's node: its listener, and the sampling of
// the union catalog's size it draws per day.
import { periodOf, splitHostPort, type trafficPb } from "@lrs/shared";
import type { NationalContext } from "../context.js";
import { storedDashboardToken } from "../store/dashboard-token.js";
import type { LedgerPositions } from "../store/ledger-store.js";
import { UnionDaily } from "../store/union-daily.js";
import { buildSummary } from "./data.js";
import { createDashboardServer, isLoopback, newDashboardToken } from "./server.js";

/** How often the union catalog's size is sampled, and how long the days are kept. */
const SAMPLE_EVERY_MS = 60_000;
const KEEP_DAYS = 400;
/** The ledger's positions are an aggregation over the period: made again at most this often. */
const SETTLEMENT_EVERY_MS = 60_000;

export interface DashboardPartsOptions {
  ctx: NationalContext;
  ownHealth: () => trafficPb.NodeHealth;
  /** The current period's settlement position (the ledger's); absent: no ledger here. */
  settlement?: (period: string) => LedgerPositions;
}

/** What the national node is given for its dashboard: a listener ("dashboard") and a background task. */
export function dashboardParts(o: DashboardPartsOptions) {
  const { ctx } = o;
  const listen = ctx.cfg.dashboardListen ?? "127.0.0.1:0";
  const { host, port } = splitHostPort(listen);
  const log = ctx.log.child({ part: "dashboard" });
  const token = isLoopback(host)
    ? undefined
    : (ctx.cfg.dashboardToken ?? storedDashboardToken(ctx.db, newDashboardToken));
  const union = new UnionDaily(ctx.db);
  let settled: { at: number; value: LedgerPositions } | undefined;
  const settlement = o.settlement
    ? () => {
        if (!settled || Date.now() - settled.at > SETTLEMENT_EVERY_MS)
          settled = { at: Date.now(), value: o.settlement!(periodOf(new Date())) };
        return settled.value;
      }
    : undefined;
  const summary = (windowMinutes: number) =>
    buildSummary(
      {
        nodeId: ctx.cfg.id,
        federationName: ctx.cfg.federationName,
        store: ctx.trafficStore,
        directory: ctx.directory,
        ownHealth: o.ownHealth,
        union,
        ...(settlement ? { settlement } : {}),
      },
      windowMinutes,
    );
  const server = createDashboardServer({
    host,
    port,
    ...(token ? { token } : {}),
    log,
    onChange: (fn) => ctx.trafficStore.onChange(() => fn()),
    summary,
  });
  return {
    /** The dashboard's figures over a window of minutes (the staff web application shows them too). */
    summary,
    listener: {
      name: "dashboard",
      start: async () => {
        const url = await server.start();
        if (token)
          log.warn(
            { url: `${url}?token=${token}` },
            "dashboard listening beyond loopback: visitors need the operator token (in this URL)",
          );
        else log.info({ url }, "dashboard listening");
        return url;
      },
      close: () => server.close(),
    },
    background: async (signal: AbortSignal) => {
      const sample = () => {
        try {
          union.sample();
        } catch (err) {
          log.error({ err }, "sampling the union catalog's size failed");
        }
      };
      sample();
      union.prune(KEEP_DAYS);
      await new Promise<void>((resolve) => {
        const t = setInterval(sample, SAMPLE_EVERY_MS);
        const stop = () => {
          clearInterval(t);
          resolve();
        };
        if (signal.aborted) stop();
        else signal.addEventListener("abort", stop, { once: true });
      });
    },
  };
}
