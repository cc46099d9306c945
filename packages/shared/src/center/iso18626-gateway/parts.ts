// The ISO 18626 gateway as parts of a center's node: its HTTPS listener and its outbound worker.
import { readFileSync } from "node:fs";
import type { DirectorySource } from "../../directory/source.js";
import type { NodeContext } from "../../node/base-node.js";
import { GATEWAY_DETAIL, TRAFFIC_KINDS, UNKNOWN_PARTNER } from "../../traffic/cells.js";
import type { RotaBroker } from "../ill-broker/broker.js";
import type { IllRelay } from "../ill-broker/relay.js";
import { BrokeredRequests } from "./brokered.js";
import { GatewayInbound } from "./inbound.js";
import { gatewayListener } from "./listener.js";
import { runGatewayOutbound } from "./outbound.js";

export interface GatewayPartsOptions {
  ctx: NodeContext;
  relay: IllRelay;
  directory: DirectorySource;
  /** At the national center: the rota broker, for partners' requests to the federation (broker mode). */
  rota?: RotaBroker;
  /** The secret LRS gives a partner (kept at the national center). */
  outboundSecret: (partnerId: string) => string;
}

export interface GatewayParts {
  /** Only when `[iso18626] listen` is set. */
  listener?: ReturnType<typeof gatewayListener>;
  background: Array<(signal: AbortSignal) => Promise<void>>;
  inbound: GatewayInbound;
}

export function gatewayParts(o: GatewayPartsOptions): GatewayParts {
  const { ctx } = o;
  const log = ctx.log.child({ part: "iso18626" });
  const brokered = o.rota
    ? new BrokeredRequests({ db: ctx.db, relay: o.relay, directory: o.directory, rota: o.rota, log })
    : undefined;
  const inbound = new GatewayInbound({
    db: ctx.db,
    relay: o.relay,
    directory: o.directory,
    log,
    ...(brokered ? { brokered } : {}),
  });
  const cfg = ctx.cfg.iso18626;
  const listener = cfg.listen
    ? gatewayListener({
        listen: cfg.listen,
        certPem: cfg.cert ? readFileSync(cfg.cert, "utf8") : ctx.tls.certPem,
        keyPem: cfg.key ? readFileSync(cfg.key, "utf8") : ctx.tls.keyPem,
        inbound,
        log,
        // Gateway traffic by partner, with the ILL messages: detail "ISO 18626 <message>".
        onAnswer: (a, ms) =>
          ctx.traffic.add(
            TRAFFIC_KINDS.ill,
            `${GATEWAY_DETAIL}${a.kind ?? "unreadable"}`,
            a.partnerId ?? UNKNOWN_PARTNER,
            ctx.cfg.id,
            ms,
            !a.ok,
          ),
      })
    : undefined;
  return {
    ...(listener ? { listener } : {}),
    inbound,
    background: [
      ...(brokered ? [(signal: AbortSignal) => brokered.run(signal)] : []),
      (signal) =>
        runGatewayOutbound(
          {
            db: ctx.db,
            outbox: ctx.outbox,
            directory: o.directory,
            relay: o.relay,
            log,
            outboundSecret: o.outboundSecret,
            onSent: (partnerId, kind, ms, ok) =>
              ctx.traffic.add(TRAFFIC_KINDS.ill, `${GATEWAY_DETAIL}${kind}`, ctx.cfg.id, partnerId, ms, !ok),
          },
          signal,
        ),
    ],
  };
}
