// The ISO 18626 gateway, inbound: one XML message from an external partner in, its
// confirmation out. The partner is known by its agency id and must prove who it is; the message
// is stored (with the confirmation it gets) before the confirmation is sent, translated into an
// envelope between the partner and the LRS member it names (transparent mode), and handed to the
// relay, which routes it like any other. The same message again gets the same confirmation and is
// not applied twice. Nothing here throws to the caller: what goes wrong is an ISO error.
import { createHash } from "node:crypto";
import { clone, create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Database } from "../../db.js";
import type { DirectorySource } from "../../directory/source.js";
import { Tier } from "../../gen/lrs/v1/common_pb.js";
import { type ExternalPartner, PartnerAuthMethod } from "../../gen/lrs/v1/directory_pb.js";
import {
  ErrorType,
  type Header,
  MessageInfoSchema,
  MessageStatus,
  type Request,
  RequestConfirmationSchema,
  RequestingAgencyMessageConfirmationSchema,
  ServiceType,
  SupplyingAgencyMessageConfirmationSchema,
} from "../../gen/lrs/v1/ill_pb.js";
import { type IllEnvelope, IllEnvelopeSchema } from "../../gen/lrs/v1/ill_service_pb.js";
import { ISO18626_CODES } from "../../iso18626/iso18626-xml.js";
import { institutionByAgencyId, partnerByAgencyId } from "../../iso18626/partners.js";
import {
  confirmationKindOf,
  type Iso18626Message,
  type Iso18626MessageKind,
  type RequestingAgencyAuthentication,
} from "../../iso18626/xml-message.js";
import { Iso18626ReadError, readIso18626 } from "../../iso18626/xml-read.js";
import { decodeXmlBytes, XmlReadError } from "../../iso18626/xml-tree.js";
import { MESSAGE_SCHEMAS, writeIso18626 } from "../../iso18626/xml-write.js";
import type { Iso18626Version } from "../../iso18626/xsd.js";
import type { Logger } from "../../log.js";
import type { IllRelay } from "../ill-broker/relay.js";
import type { BrokeredRequests } from "./brokered.js";
import { PartnerSecretChecks, TooManyFailedChecks } from "./partner-auth.js";

/** How the caller proved itself at the transport: HTTP basic, a TLS client certificate. */
export interface InboundCredentials {
  readonly basic?: { readonly user: string; readonly password: string };
  readonly certFingerprint?: string;
}

export interface GatewayAnswer {
  /** The confirmation, as XML for the partner. */
  readonly xml: string;
  readonly ok: boolean;
  /** The partner, when it was recognised and authenticated. */
  readonly partnerId?: string;
  readonly kind?: Iso18626MessageKind;
  /** This answer is the stored one of an earlier copy of the message. */
  readonly repeat: boolean;
}

export interface GatewayInboundOptions {
  db: Database;
  relay: IllRelay;
  directory: DirectorySource;
  log: Logger;
  /** At the national center: requests addressed to the federation itself (broker mode). */
  brokered?: BrokeredRequests;
  now?: () => Date;
}

/** The internal agency id type of LRS envelopes (member-node ill/store.ts). */
const LRS_TYPE = "LRS";

class Refusal extends Error {
  constructor(
    readonly errorType: ErrorType,
    readonly errorValue: string,
  ) {
    super(errorValue);
  }
}

/** Checks the partner's credentials, wherever its method puts them; throws Refusal. */
async function authenticate(
  secrets: PartnerSecretChecks,
  p: ExternalPartner,
  header: RequestingAgencyAuthentication | undefined,
  creds: InboundCredentials,
): Promise<void> {
  const label = `${p.agencyIdType}:${p.agencyIdValue}`;
  switch (p.inboundAuth) {
    case PartnerAuthMethod.ACCOUNT:
    case PartnerAuthMethod.HTTP_BASIC: {
      // Account and security code in the header, or the same as HTTP basic (the supplying
      // agency message has no authentication element).
      const given =
        header ??
        (creds.basic ? { accountId: creds.basic.user, securityCode: creds.basic.password } : undefined);
      if (given && given.accountId === p.inboundAccount && (await checked(secrets, p, given.securityCode)))
        return;
      throw new Refusal(
        ErrorType.UNRECOGNISED_DATA_VALUE,
        `header/requestingAgencyAuthentication: ${given ? "not accepted" : "missing"} for ${label}`,
      );
    }
    case PartnerAuthMethod.CLIENT_CERTIFICATE: {
      if (creds.certFingerprint && (await checked(secrets, p, creds.certFingerprint))) return;
      throw new Refusal(
        ErrorType.UNRECOGNISED_DATA_VALUE,
        `client certificate: not the one on record for ${label}`,
      );
    }
    default:
      throw new Refusal(ErrorType.UNRECOGNISED_DATA_VALUE, `${label} has no way to authenticate; refused`);
  }
}

/** A secret check whose refusal for too many failures is an ISO error naming the limit. */
async function checked(secrets: PartnerSecretChecks, p: ExternalPartner, given: string): Promise<boolean> {
  try {
    return await secrets.check(p, given);
  } catch (err) {
    if (err instanceof TooManyFailedChecks) throw new Refusal(ErrorType.UNRECOGNISED_DATA_VALUE, err.message);
    throw err;
  }
}

function headerOf(m: Iso18626Message): Header | undefined {
  switch (m.case) {
    case "request":
    case "supplyingAgencyMessage":
    case "requestingAgencyMessage":
      return m.value.header;
    default:
      return undefined;
  }
}

/** What tells one message from another of the same request: its action or status and reason. */
function discriminator(m: Iso18626Message): string {
  if (m.case === "requestingAgencyMessage") return ISO18626_CODES.action.toXml(m.value.action) ?? "";
  if (m.case === "supplyingAgencyMessage")
    return `${ISO18626_CODES.reasonForMessage.toXml(m.value.messageInfo?.reasonForMessage ?? 0) ?? ""}/${ISO18626_CODES.status.toXml(m.value.statusInfo?.status ?? 0) ?? ""}`;
  return "";
}

/** The confirmation of a message (or of what could be read of one), as XML for `version`. */
export function confirmationXml(
  kind: Iso18626MessageKind | undefined,
  header: Header | undefined,
  about: Iso18626Message | undefined,
  error: { type: ErrorType; value: string } | undefined,
  version: Iso18626Version,
  now: Date,
): string {
  const confirmationHeader = {
    supplyingAgencyId: header?.supplyingAgencyId,
    requestingAgencyId: header?.requestingAgencyId,
    timestamp: timestampFromDate(now),
    requestingAgencyRequestId: header?.requestingAgencyRequestId ?? "",
    timestampReceived: header?.timestamp ?? timestampFromDate(now),
    messageStatus: error ? MessageStatus.ERROR : MessageStatus.OK,
  };
  const errorData = error ? [{ errorType: error.type, errorValue: error.value }] : [];
  const answering = (kind && confirmationKindOf(kind)) ?? "requestConfirmation";
  let message: Iso18626Message;
  if (answering === "supplyingAgencyMessageConfirmation")
    message = {
      case: answering,
      value: create(SupplyingAgencyMessageConfirmationSchema, {
        confirmationHeader,
        reasonForMessage:
          about?.case === "supplyingAgencyMessage" ? (about.value.messageInfo?.reasonForMessage ?? 0) : 0,
        errorData,
      }),
    };
  else if (answering === "requestingAgencyMessageConfirmation")
    message = {
      case: answering,
      value: create(RequestingAgencyMessageConfirmationSchema, {
        confirmationHeader,
        action: about?.case === "requestingAgencyMessage" ? about.value.action : 0,
        errorData,
      }),
    };
  else
    message = {
      case: "requestConfirmation",
      value: create(RequestConfirmationSchema, { confirmationHeader, errorData }),
    };
  return writeIso18626(message, { version }).xml;
}

/** The answer to a body that is not a message at all (unreadable, too large, …): BadlyFormedMessage. */
export function unreadable(value: string, now = new Date()): GatewayAnswer {
  return {
    xml: confirmationXml(
      undefined,
      undefined,
      undefined,
      { type: ErrorType.BADLY_FORMED_MESSAGE, value },
      "2021-2",
      now,
    ),
    ok: false,
    repeat: false,
  };
}

/** The inbound half of the gateway; see the file comment. */
export class GatewayInbound {
  readonly #o: GatewayInboundOptions;
  readonly #verified = new PartnerSecretChecks();

  constructor(o: GatewayInboundOptions) {
    this.#o = o;
  }

  /** Takes one POSTed body; always answers with a confirmation. */
  async receive(body: Uint8Array, creds: InboundCredentials): Promise<GatewayAnswer> {
    const now = this.#o.now?.() ?? new Date();
    const { log } = this.#o;
    let text: string;
    try {
      text = decodeXmlBytes(body);
    } catch (err) {
      const value = err instanceof XmlReadError ? err.message : "the body could not be read";
      log.warn({ reason: value }, "ISO 18626 message refused: not readable");
      return unreadable(value, now);
    }
    let read: ReturnType<typeof readIso18626>;
    try {
      read = readIso18626(text);
    } catch (err) {
      if (!(err instanceof Iso18626ReadError)) throw err;
      const partner = this.#partnerOf(err.kind, err.header);
      log.warn(
        {
          partner: partner?.id,
          kind: err.kind,
          errorType: ISO18626_CODES.errorType.toXml(err.errorType),
          errorValue: err.errorValue,
        },
        "ISO 18626 message refused: cannot be read",
      );
      const version = (partner?.schemaVersion as Iso18626Version | undefined) ?? err.version ?? "2021-2";
      return {
        xml: confirmationXml(
          err.kind,
          err.header,
          undefined,
          { type: err.errorType, value: err.errorValue },
          version,
          now,
        ),
        ok: false,
        ...(partner ? { partnerId: partner.id } : {}),
        ...(err.kind ? { kind: err.kind } : {}),
        repeat: false,
      };
    }
    const m = read.message;
    const header = headerOf(m);
    const partner = this.#partnerOf(m.case, header);
    const version = (partner?.schemaVersion as Iso18626Version | undefined) ?? read.version ?? "2021-2";
    const refuse = (r: Refusal, partnerId?: string): GatewayAnswer => {
      log.warn(
        {
          partner: partnerId,
          kind: m.case,
          errorType: ISO18626_CODES.errorType.toXml(r.errorType),
          errorValue: r.errorValue,
        },
        "ISO 18626 message refused",
      );
      return {
        xml: confirmationXml(m.case, header, m, { type: r.errorType, value: r.errorValue }, version, now),
        ok: false,
        ...(partnerId ? { partnerId } : {}),
        kind: m.case,
        repeat: false,
      };
    };
    try {
      if (!header || confirmationKindOf(m.case) === undefined)
        throw new Refusal(
          ErrorType.BADLY_FORMED_MESSAGE,
          `${m.case}: a confirmation answers a message; it is not sent on its own`,
        );
      if (!partner) {
        const sender =
          m.case === "supplyingAgencyMessage" ? header.supplyingAgencyId : header.requestingAgencyId;
        const where = m.case === "supplyingAgencyMessage" ? "supplyingAgencyId" : "requestingAgencyId";
        throw new Refusal(
          ErrorType.UNRECOGNISED_DATA_VALUE,
          `${m.case}/header/${where}: ${sender?.agencyIdType ?? ""}:${sender?.agencyIdValue ?? ""} is not a partner of this federation`,
        );
      }
      await authenticate(this.#verified, partner, read.authentication, creds);
    } catch (err) {
      if (err instanceof Refusal) return refuse(err);
      throw err;
    }
    const key = [
      partner.id,
      m.case,
      header.requestingAgencyRequestId,
      header.supplyingAgencyRequestId,
      header.timestamp ? timestampDate(header.timestamp).toISOString() : "",
      discriminator(m),
    ].join("|");
    const messageId = `iso18626-${createHash("sha256").update(key).digest("hex").slice(0, 32)}`;
    const { db } = this.#o;
    return db.transaction(() => {
      const seen = db.sqlite
        .prepare("SELECT confirmation_xml, status FROM iso18626_inbound WHERE dedup_key = ?")
        .get(key) as { confirmation_xml: string; status: string } | undefined;
      if (seen) {
        db.sqlite.prepare("UPDATE iso18626_inbound SET repeats = repeats + 1 WHERE dedup_key = ?").run(key);
        log.info(
          { partner: partner.id, kind: m.case, messageId },
          "ISO 18626 message received again: same confirmation",
        );
        return {
          xml: seen.confirmation_xml,
          ok: seen.status === "OK",
          partnerId: partner.id,
          kind: m.case,
          repeat: true,
        };
      }
      let error: { type: ErrorType; value: string } | undefined;
      try {
        // One savepoint: a refusal leaves nothing of the message behind but its confirmation.
        db.transaction(() => {
          const env = this.#envelope(m, header, partner, messageId, now);
          if (env) this.#o.relay.acceptFromGateway(env);
        });
      } catch (err) {
        if (err instanceof Refusal) error = { type: err.errorType, value: err.errorValue };
        else if (
          err instanceof Error &&
          (err.name === "NotFoundError" ||
            err.name === "IllRouteError" ||
            err.name === "EnvelopeError" ||
            err.name === "BrokerRefusal")
        )
          error = { type: ErrorType.UNRECOGNISED_DATA_VALUE, value: err.message };
        else throw err;
      }
      const xml = confirmationXml(m.case, header, m, error, version, now);
      db.sqlite
        .prepare(
          `INSERT INTO iso18626_inbound (dedup_key, partner_id, kind, requesting_agency_request_id, message_id, received_at, xml, confirmation_xml, status)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          key,
          partner.id,
          m.case,
          header.requestingAgencyRequestId,
          messageId,
          now.toISOString(),
          text,
          xml,
          error ? "ERROR" : "OK",
        );
      if (error)
        log.warn(
          { partner: partner.id, kind: m.case, messageId, errorValue: error.value },
          "ISO 18626 message refused",
        );
      else
        log.info(
          { partner: partner.id, kind: m.case, messageId, ignored: read.ignored, uncoded: read.uncoded },
          "ISO 18626 message taken",
        );
      return { xml, ok: !error, partnerId: partner.id, kind: m.case, repeat: false };
    });
  }

  /** The partner that sent a message: the requester of a request or requesting agency message, the supplier of a supplying agency message. */
  #partnerOf(kind: Iso18626MessageKind | undefined, header: Header | undefined): ExternalPartner | undefined {
    const a = kind === "supplyingAgencyMessage" ? header?.supplyingAgencyId : header?.requestingAgencyId;
    return a ? partnerByAgencyId(this.#o.directory.current(), a.agencyIdType, a.agencyIdValue) : undefined;
  }

  /** Whether the partner may borrow what its request asks for; throws Refusal naming the element. */
  #mayBorrow(request: Request, partner: ExternalPartner): void {
    if (!partner.mayBorrow)
      throw new Refusal(
        ErrorType.UNRECOGNISED_DATA_VALUE,
        `request: ${partner.id} may not borrow from this federation`,
      );
    const type = request.serviceInfo?.serviceType ?? ServiceType.UNSPECIFIED;
    const ok =
      (type === ServiceType.LOAN && partner.borrowsLoans) ||
      (type === ServiceType.COPY && partner.borrowsCopies) ||
      (type === ServiceType.COPY_OR_LOAN && (partner.borrowsLoans || partner.borrowsCopies));
    if (!ok)
      throw new Refusal(
        ErrorType.UNRECOGNISED_DATA_VALUE,
        `request/serviceInfo/serviceType: ${ISO18626_CODES.serviceType.toXml(type) ?? "none"} is not a service ${partner.id} takes from this federation`,
      );
  }

  /**
   * The envelope from the partner to the LRS member the message names (transparent mode); for
   * the federation itself (broker mode), what the broker makes of it, or undefined when it took it.
   */
  #envelope(
    m: Iso18626Message,
    header: Header,
    partner: ExternalPartner,
    messageId: string,
    now: Date,
  ): IllEnvelope | undefined {
    const dir = this.#o.directory.current();
    const fromLender = m.case === "supplyingAgencyMessage";
    const lrsSide = fromLender ? header.requestingAgencyId : header.supplyingAgencyId;
    const where = fromLender ? "requestingAgencyId" : "supplyingAgencyId";
    if (!lrsSide) throw new Refusal(ErrorType.BADLY_FORMED_MESSAGE, `${m.case}/header/${where}: missing`);
    const member = institutionByAgencyId(dir, lrsSide.agencyIdType, lrsSide.agencyIdValue);
    if (m.case === "request") this.#mayBorrow(m.value, partner);
    if (member?.tier === Tier.NATIONAL && !fromLender) {
      // Broker mode: addressed to the federation itself.
      const brokered = this.#o.brokered;
      if (!brokered)
        throw new Refusal(
          ErrorType.UNRECOGNISED_DATA_VALUE,
          `${m.case}/header/${where}: requests to the federation (${lrsSide.agencyIdValue}) are taken by the national center's gateway`,
        );
      if (m.case === "request") {
        brokered.accept(m.value, partner.id, messageId);
        return undefined;
      }
      if (m.case === "requestingAgencyMessage")
        return brokered.partnerMessage(m.value, partner.id, messageId);
    }
    if (member?.tier !== Tier.MEMBER)
      throw new Refusal(
        ErrorType.UNRECOGNISED_DATA_VALUE,
        `${m.case}/header/${where}: ${lrsSide.agencyIdType}:${lrsSide.agencyIdValue} is not a member library of this federation`,
      );
    if (fromLender && !partner.mayLend)
      throw new Refusal(
        ErrorType.UNRECOGNISED_DATA_VALUE,
        `supplyingAgencyMessage: ${partner.id} does not lend to this federation`,
      );
    const lrs = { agencyIdType: LRS_TYPE, agencyIdValue: member.id };
    const outside = { agencyIdType: LRS_TYPE, agencyIdValue: partner.id };
    const value = clone(MESSAGE_SCHEMAS[m.case] as never, m.value as never) as Iso18626Message["value"];
    const h = (value as { header?: Header }).header;
    if (h) {
      h.messageId = messageId;
      h.supplyingAgencyId = { $typeName: "lrs.v1.AgencyId", ...(fromLender ? outside : lrs) };
      h.requestingAgencyId = { $typeName: "lrs.v1.AgencyId", ...(fromLender ? lrs : outside) };
    }
    // A copy delivered by URL: the member's staff read it on the request's timeline.
    if (value.$typeName === "lrs.v1.SupplyingAgencyMessage" && value.deliveryInfo?.url) {
      const info = value.messageInfo ?? create(MessageInfoSchema);
      const url = `copy at ${value.deliveryInfo.url}`;
      info.note = info.note ? `${info.note}; ${url}` : url;
      value.messageInfo = info;
    }
    return create(IllEnvelopeSchema, {
      messageId,
      originAgencyId: partner.id,
      destinationAgencyId: member.id,
      requestingAgencyRequestId: header.requestingAgencyRequestId,
      createdAt: timestampFromDate(now),
      message: { case: m.case, value } as IllEnvelope["message"],
    });
  }
}
