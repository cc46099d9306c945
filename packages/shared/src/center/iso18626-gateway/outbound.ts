// The ISO 18626 gateway, outbound: the relay's outbox for "iso18626:<partner>" destinations,
// one worker per partner, each message written as XML for the partner's schema version, POSTed,
// and its confirmation read. A partner that cannot be reached, or answers with something other
// than the confirmation, is tried again with the outbox's backoff (its messages wait, in order);
// a confirmation (OK or ERROR) goes back to the LRS member as the envelope a member's own
// confirmation would be.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Database } from "../../db.js";
import { institutionsOf } from "../../directory/lookup.js";
import type { DirectorySource } from "../../directory/source.js";
import { type ExternalPartner, PartnerAuthMethod } from "../../gen/lrs/v1/directory_pb.js";
import { type AgencyId, AgencyIdSchema, MessageStatus, Status } from "../../gen/lrs/v1/ill_pb.js";
import type { IllEnvelope } from "../../gen/lrs/v1/ill_service_pb.js";
import {
  confirmationOf,
  confirmationText,
  describeEnvelope,
  envelopeFromOutbox,
} from "../../iso18626/envelope.js";
import { ISO18626_CODES } from "../../iso18626/iso18626-xml.js";
import { agencyIdOf } from "../../iso18626/partners.js";
import { confirmationKindOf, type Iso18626Message } from "../../iso18626/xml-message.js";
import { Iso18626ReadError, readIso18626 } from "../../iso18626/xml-read.js";
import { Iso18626WriteError, writeIso18626 } from "../../iso18626/xml-write.js";
import type { Iso18626Version } from "../../iso18626/xsd.js";
import type { Logger } from "../../log.js";
import type { Outbox } from "../../outbox.js";
import { runPrefixWorkers } from "../ill-broker/child-delivery.js";
import { externalPartnerOf, GATEWAY_PREFIX, type IllRelay } from "../ill-broker/relay.js";
import { refusalNotice } from "./notices.js";

export interface GatewayOutboundOptions {
  db: Database;
  outbox: Outbox;
  directory: DirectorySource;
  relay: IllRelay;
  log: Logger;
  /** The secret LRS gives a partner (its security code or HTTP basic password). */
  outboundSecret: (partnerId: string) => string;
  /** Each message sent (traffic figures): to whom, what, how long, whether the partner took it. */
  onSent?: (partnerId: string, kind: string, ms: number, ok: boolean) => void;
  /** How long one POST may take. */
  timeoutMs?: number;
  now?: () => Date;
}

/** The ISO agency id of an LRS institution or a partner, by the id envelopes use. */
function isoAgency(
  o: GatewayOutboundOptions,
  a: AgencyId | undefined,
  partner: ExternalPartner,
): AgencyId | undefined {
  if (!a) return undefined;
  if (a.agencyIdValue === partner.id)
    return create(AgencyIdSchema, {
      agencyIdType: partner.agencyIdType,
      agencyIdValue: partner.agencyIdValue,
    });
  const inst = institutionsOf(o.directory).get(a.agencyIdValue);
  return inst ? create(AgencyIdSchema, agencyIdOf(o.directory.current(), inst)) : a;
}

/** The message of an envelope as the partner is to see it: ISO agency ids, no LRS message id. */
function forPartner(o: GatewayOutboundOptions, env: IllEnvelope, partner: ExternalPartner): Iso18626Message {
  const m = env.message;
  if (m.case !== "request" && m.case !== "supplyingAgencyMessage" && m.case !== "requestingAgencyMessage")
    throw new Error(`a ${m.case ?? "empty envelope"} is not sent to a partner`);
  const value = structuredClone(m.value);
  const h = value.header;
  if (h) {
    h.supplyingAgencyId = isoAgency(o, h.supplyingAgencyId, partner);
    h.requestingAgencyId = isoAgency(o, h.requestingAgencyId, partner);
    h.messageId = "";
  }
  return { case: m.case, value } as Iso18626Message;
}

/** POSTs one message to a partner and returns its confirmation's verdict: undefined for OK, else the errors. */
async function post(
  o: GatewayOutboundOptions,
  partner: ExternalPartner,
  message: Iso18626Message,
  signal: AbortSignal,
): Promise<{ xml: string; errors: Array<{ type: number; value: string }> }> {
  const secret = o.outboundSecret(partner.id);
  const auth =
    partner.outboundAuth === PartnerAuthMethod.ACCOUNT &&
    (message.case === "request" || message.case === "requestingAgencyMessage")
      ? { accountId: partner.outboundAccount, securityCode: secret }
      : undefined;
  let xml: string;
  try {
    xml = writeIso18626(message, {
      version: partner.schemaVersion as Iso18626Version,
      ...(auth ? { authentication: auth } : {}),
    }).xml;
  } catch (err) {
    // Never sendable to this partner: the outbox sets it aside after its refusals.
    if (err instanceof Iso18626WriteError)
      throw new ConnectError(`cannot be written for ${partner.id}: ${err.message}`, Code.InvalidArgument);
    throw err;
  }
  const headers: Record<string, string> = { "content-type": "application/xml; charset=utf-8" };
  if (partner.outboundAuth === PartnerAuthMethod.HTTP_BASIC)
    headers.authorization = `Basic ${Buffer.from(`${partner.outboundAccount}:${secret}`).toString("base64")}`;
  const res = await fetch(partner.endpointUrl, {
    method: "POST",
    headers,
    body: xml,
    signal: AbortSignal.any([signal, AbortSignal.timeout(o.timeoutMs ?? 30_000)]),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${partner.id} answered HTTP ${res.status}`);
  let answer: ReturnType<typeof readIso18626>;
  try {
    answer = readIso18626(text);
  } catch (err) {
    if (err instanceof Iso18626ReadError)
      throw new Error(`${partner.id} answered with unreadable XML: ${err.errorValue}`);
    throw err;
  }
  const expected = confirmationKindOf(message.case);
  const c = answer.message;
  if (c.case !== expected) throw new Error(`${partner.id} answered with a ${c.case}, not a ${expected}`);
  const v = c.value as {
    confirmationHeader?: { messageStatus: MessageStatus };
    errorData: Array<{ errorType: number; errorValue: string }>;
  };
  const errors =
    v.confirmationHeader?.messageStatus === MessageStatus.ERROR
      ? v.errorData.length > 0
        ? v.errorData.map((e) => ({ type: e.errorType, value: e.errorValue }))
        : [{ type: 0, value: "refused without a reason" }]
      : [];
  return { xml, errors };
}

/** Runs one outbox worker per partner with messages waiting, until `signal` aborts. */
export async function runGatewayOutbound(o: GatewayOutboundOptions, signal: AbortSignal): Promise<void> {
  await runPrefixWorkers(
    {
      db: o.db,
      outbox: o.outbox,
      log: o.log,
      prefix: GATEWAY_PREFIX,
      logKey: "partner",
      what: "ISO 18626 gateway",
    },
    async (msg, partnerId, log) => {
      const env = envelopeFromOutbox(msg.kind, msg.payload);
      const partner = externalPartnerOf(o.directory, partnerId);
      if (!partner) throw new ConnectError(`${partnerId} is no longer an external partner`, Code.NotFound);
      const m = env.message;
      if (
        m.case !== "request" &&
        m.case !== "supplyingAgencyMessage" &&
        m.case !== "requestingAgencyMessage"
      ) {
        // The member's confirmation of the partner's message. The gateway confirmed it OK when
        // it stored it; a refusal by the member is told to the partner as a message of its own
        // (Unfilled for a request, "no" to a Cancel or Renew, else a Notification).
        const verdict = confirmationText(env) ?? "";
        if (verdict === "OK") {
          log.info({ messageId: env.messageId }, "member applied the partner's message");
          return;
        }
        const last = o.relay.lastStatusOf(env.requestingAgencyRequestId, env.originAgencyId);
        const notice = refusalNotice(
          env,
          ISO18626_CODES.status.fromXml(last) ?? Status.UNSPECIFIED,
          o.now?.() ?? new Date(),
        );
        if (notice) o.db.transaction(() => o.relay.acceptFromGateway(notice));
        log.warn(
          { messageId: env.messageId, verdict, told: notice?.messageId },
          "member refused the partner's message: partner told",
        );
        return;
      }
      const started = Date.now();
      const { xml, errors } = await post(o, partner, forPartner(o, env, partner), signal);
      o.onSent?.(partnerId, m.case, Date.now() - started, errors.length === 0);
      const now = o.now?.() ?? new Date();
      const reply = confirmationOf(env, errors, {
        messageId: `${env.messageId}.confirmation`,
        receivedAt: now,
        now,
      });
      o.db.transaction(() => {
        o.db.sqlite
          .prepare(
            `INSERT OR IGNORE INTO iso18626_outbound (message_id, partner_id, kind, requesting_agency_request_id, sent_at, xml, confirmation)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            env.messageId,
            partnerId,
            describeEnvelope(env),
            env.requestingAgencyRequestId,
            now.toISOString(),
            xml,
            confirmationText(reply) ?? "",
          );
        // The partner's confirmation goes back to the member like a member's own would; one of
        // a message of this center's own (broker mode) stays here.
        if (env.originAgencyId !== o.relay.nodeId) o.relay.acceptFromGateway(reply);
        else if (errors.length > 0)
          log.warn(
            { messageId: env.messageId, confirmation: confirmationText(reply) },
            "partner refused the broker's message",
          );
      });
      log.info(
        { messageId: env.messageId, kind: describeEnvelope(env), confirmation: confirmationText(reply) },
        "ISO 18626 message sent to the partner",
      );
    },
    signal,
  );
}
