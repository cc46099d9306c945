// The ISO 18626 gateway's broker mode, at the national center: an external partner's request
// addressed to the federation itself (the national center's agency id). The rota (ill-broker's
// RotaBroker) picks the lenders among LRS holders of every region; the national center then acts
// as the requesting agency towards each lender in turn and as the supplying agency towards the
// partner, which only ever sees the federation. When a lender cannot supply, the next one is
// asked and the partner is sent a new ExpectToSupply, so that it sees one continuous request;
// only when the rota is exhausted is it told Unfilled (as crosslink's broker and ReShare do).
//
// Durable and idempotent: the request is stored with the partner's message, in the gateway's
// transaction, before it is confirmed; the rota is built by a background worker that resumes after
// a restart; every message to a lender or to the partner is stored in the relay's outbox in the
// same transaction as the state change that caused it, with an id derived from its cause, so that
// a lender's message delivered twice is dropped by the relay before it reaches this file.
import { clone, create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Database } from "../../db.js";
import { institutionsOf } from "../../directory/lookup.js";
import type { DirectorySource } from "../../directory/source.js";
import {
  Action,
  type Header,
  HeaderSchema,
  MessageStatus,
  ReasonForMessage,
  type Request,
  type RequestingAgencyMessage,
  RequestingAgencyMessageSchema,
  RequestSchema,
  Status,
  type SupplyingAgencyMessage,
  SupplyingAgencyMessageSchema,
  YesNo,
} from "../../gen/lrs/v1/ill_pb.js";
import { type IllEnvelope, IllEnvelopeSchema } from "../../gen/lrs/v1/ill_service_pb.js";
import { confirmationOf, confirmationText } from "../../iso18626/envelope.js";
import { ISO18626_CODES } from "../../iso18626/iso18626-xml.js";
import type { Logger } from "../../log.js";
import type { RotaBroker } from "../ill-broker/broker.js";
import { externalPartnerOf, type IllRelay } from "../ill-broker/relay.js";
import { refusalNotice, supplierEnvelope } from "./notices.js";

const LRS_TYPE = "LRS";

/** How long one rota may take to build; a failure is tried again with backoff, this many times. */
const ROTA_TIMEOUT_MS = 60_000;
const ROTA_ATTEMPTS = 12;

/** The lender's request id of rota position `n`: the partner's, then "/b<n>" (the relay's trace finds both). */
export function lenderRequestId(partnerRequestId: string, n: number): string {
  return `${partnerRequestId}/b${n}`;
}

function parseLenderRequestId(id: string): { partnerRequestId: string; position: number } | undefined {
  const m = /^(.*)\/b(\d+)$/s.exec(id);
  return m ? { partnerRequestId: m[1]!, position: Number(m[2]) } : undefined;
}

interface Row {
  partner_id: string;
  partner_request_id: string;
  message_id: string;
  request: Buffer;
  state: "rota" | "lending" | "done";
  rota: string;
  position: number;
  last_status: string;
  /** When the current lender was asked, and whether it has answered since (beyond RequestReceived). */
  asked_at: string;
  answered: number;
  attempts: number;
  next_attempt_at: string;
}

interface RotaEntry {
  agencyId: string;
  reason: string;
  /** How long the lender takes to answer (its lending policy); silent longer, the next is asked. */
  responseSeconds: number;
}

/** A lender's response time when its policy names none. */
const DEFAULT_RESPONSE_SECONDS = 2 * 86_400;

/** A partner's message the broker cannot take, with the ISO error to answer. */
export class BrokerRefusal extends Error {
  override name = "BrokerRefusal";
}

export interface BrokeredRequestsOptions {
  db: Database;
  relay: IllRelay;
  directory: DirectorySource;
  rota: Pick<RotaBroker, "buildRotaForPartner">;
  log: Logger;
  now?: () => Date;
}

/** See the file comment. */
export class BrokeredRequests {
  readonly #o: BrokeredRequestsOptions;
  #wake: (() => void) | undefined;

  constructor(o: BrokeredRequestsOptions) {
    this.#o = o;
    o.relay.interceptWith((env) => this.#fromLender(env));
  }

  get #self(): string {
    return this.#o.relay.nodeId;
  }

  #now(): Date {
    return this.#o.now?.() ?? new Date();
  }

  #row(partnerId: string, partnerRequestId: string): Row | undefined {
    return this.#o.db.sqlite
      .prepare("SELECT * FROM iso18626_brokered WHERE partner_id = ? AND partner_request_id = ?")
      .get(partnerId, partnerRequestId) as Row | undefined;
  }

  /** The id the partner knows the federation's side of the request by (constant across lenders). */
  #supplierRequestId(r: Pick<Row, "message_id">): string {
    return `lrs-${r.message_id.replace(/^iso18626-/, "").slice(0, 16)}`;
  }

  /** Stores a partner's request to the federation; call inside the gateway's transaction. */
  accept(request: Request, partnerId: string, messageId: string): void {
    const id = request.header?.requestingAgencyRequestId ?? "";
    if (this.#row(partnerId, id))
      throw new BrokerRefusal(
        `request/header/requestingAgencyRequestId: ${id} is already a request of ${partnerId} to this federation`,
      );
    const now = this.#now().toISOString();
    this.#o.db.sqlite
      .prepare(
        `INSERT INTO iso18626_brokered (partner_id, partner_request_id, message_id, request, state, created_at, updated_at, next_attempt_at)
         VALUES (?, ?, ?, ?, 'rota', ?, ?, ?)`,
      )
      .run(partnerId, id, messageId, Buffer.from(toBinary(RequestSchema, request)), now, now, now);
    this.#o.log.info(
      { partner: partnerId, request: id },
      "partner's request to the federation: rota to build",
    );
    queueMicrotask(() => this.#wake?.());
  }

  /**
   * A partner's message about a request to the federation: the envelope for the current lender,
   * or undefined when the broker answered it itself (a Cancel or StatusRequest before any lender
   * was asked). Call inside the gateway's transaction. @throws BrokerRefusal.
   */
  partnerMessage(m: RequestingAgencyMessage, partnerId: string, messageId: string): IllEnvelope | undefined {
    const id = m.header?.requestingAgencyRequestId ?? "";
    const r = this.#row(partnerId, id);
    if (!r)
      throw new BrokerRefusal(
        `requestingAgencyMessage/header/requestingAgencyRequestId: ${id} is not a request of ${partnerId} to this federation`,
      );
    const now = this.#now();
    const lender = this.#lenderOf(r);
    // Ended without a lender (Unfilled, or cancelled before one was asked): nobody to pass it to.
    if (r.state === "done")
      throw new BrokerRefusal(
        `requestingAgencyMessage: request ${id} has ended (${r.last_status || "Unfilled"})`,
      );
    if (r.state === "rota" || !lender) {
      if (m.action === Action.CANCEL) {
        this.#update(r, { state: "done", last_status: "Cancelled" });
        this.#toPartner(r, `${messageId}.answer`, ReasonForMessage.CANCEL_RESPONSE, Status.CANCELLED, now, {
          answer: YesNo.Y,
          note: "cancelled before any library was asked",
        });
        return undefined;
      }
      if (m.action === Action.STATUS_REQUEST) {
        this.#toPartner(
          r,
          `${messageId}.answer`,
          ReasonForMessage.STATUS_REQUEST_RESPONSE,
          Status.REQUEST_RECEIVED,
          now,
          {
            note: "the federation is looking for a library to supply it",
          },
        );
        return undefined;
      }
      throw new BrokerRefusal(
        `requestingAgencyMessage/action: ${ISO18626_CODES.action.toXml(m.action) ?? "this action"} before any library supplies request ${id}`,
      );
    }
    const value = clone(RequestingAgencyMessageSchema, m);
    value.header = this.#lenderHeader(
      m.header,
      partnerId,
      lender,
      lenderRequestId(id, r.position),
      messageId,
    );
    return create(IllEnvelopeSchema, {
      messageId,
      originAgencyId: partnerId,
      destinationAgencyId: lender,
      requestingAgencyRequestId: lenderRequestId(id, r.position),
      createdAt: timestampFromDate(now),
      message: { case: "requestingAgencyMessage", value },
    });
  }

  /** Builds the rotas of requests waiting for one, until `signal` aborts; resumes after a restart. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const due = this.#o.db.sqlite
        .prepare(
          "SELECT * FROM iso18626_brokered WHERE state = 'rota' AND next_attempt_at <= ? ORDER BY created_at",
        )
        .all(this.#now().toISOString()) as Row[];
      for (const r of due) {
        if (signal.aborted) return;
        await this.#buildRota(r);
      }
      this.#timeouts();
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, 1000);
        function done() {
          clearTimeout(t);
          signal.removeEventListener("abort", done);
          resolve();
        }
        this.#wake = done;
        signal.addEventListener("abort", done, { once: true });
      });
      this.#wake = undefined;
    }
  }

  /**
   * Lenders silent beyond their response time: the request is withdrawn there (a Cancel) and the
   * next of the rota is asked. Whatever that lender sends later is kept, not passed on.
   */
  #timeouts(): void {
    const now = this.#now();
    const waiting = this.#o.db.sqlite
      .prepare("SELECT * FROM iso18626_brokered WHERE state = 'lending' AND answered = 0")
      .all() as Row[];
    for (const w of waiting) {
      const entry = (JSON.parse(w.rota) as RotaEntry[])[w.position - 1];
      if (!entry || !w.asked_at) continue;
      const due = Date.parse(w.asked_at) + (entry.responseSeconds || DEFAULT_RESPONSE_SECONDS) * 1000;
      if (now.getTime() < due) continue;
      this.#o.db.transaction(() => {
        const r = this.#row(w.partner_id, w.partner_request_id);
        if (r?.state !== "lending" || r.answered || r.position !== w.position) return;
        const lenderId = lenderRequestId(r.partner_request_id, r.position);
        const messageId = `${r.message_id}.b${r.position}.timeout`;
        const cancel = create(RequestingAgencyMessageSchema, {
          header: this.#lenderHeader(undefined, r.partner_id, entry.agencyId, lenderId, messageId),
          action: Action.CANCEL,
          note: `no answer in ${entry.responseSeconds} s: the federation asks another library`,
        });
        this.#o.relay.acceptFromGateway(
          create(IllEnvelopeSchema, {
            messageId,
            originAgencyId: r.partner_id,
            destinationAgencyId: entry.agencyId,
            requestingAgencyRequestId: lenderId,
            createdAt: timestampFromDate(now),
            message: { case: "requestingAgencyMessage", value: cancel },
          }),
        );
        this.#next(r, `${entry.agencyId} did not answer in ${entry.responseSeconds} s`, messageId, now);
      });
    }
  }

  async #buildRota(r: Row): Promise<void> {
    const { log } = this.#o;
    const request = fromBinary(RequestSchema, new Uint8Array(r.request));
    const bib = request.bibliographicInfo;
    let rota: RotaEntry[] = [];
    let unfilled: string | undefined;
    try {
      const res = await this.#o.rota.buildRotaForPartner(
        r.partner_id,
        {
          itemIds: bib?.bibliographicItemId ?? [],
          title: bib?.title ?? "",
          author: bib?.author ?? "",
          serviceType: request.serviceInfo?.serviceType ?? 0,
          serviceLevel: request.serviceInfo?.serviceLevel ?? "",
        },
        ROTA_TIMEOUT_MS,
      );
      rota = res.rota.map((c) => ({
        agencyId: c.agencyId,
        reason: c.reason,
        responseSeconds: c.responseTimeSeconds || DEFAULT_RESPONSE_SECONDS,
      }));
      if (rota.length === 0)
        unfilled = `no library of the federation can supply it (${res.excluded.length} holders left out: ${res.excluded
          .slice(0, 3)
          .map((c) => `${c.agencyId}: ${c.reason}`)
          .join("; ")})`;
    } catch (err) {
      const ce = ConnectError.from(err);
      const final =
        ce.code === Code.NotFound ||
        ce.code === Code.InvalidArgument ||
        ce.code === Code.PermissionDenied ||
        (err instanceof Error && (err.name === "NotFoundError" || err.name === "ValidationError"));
      if (final || r.attempts + 1 >= ROTA_ATTEMPTS)
        unfilled = `no library of the federation can supply it: ${ce.rawMessage}`;
      else {
        const wait = Math.min(300_000, 2_000 * 2 ** r.attempts);
        log.warn(
          { partner: r.partner_id, request: r.partner_request_id, err: ce.rawMessage, retryInMs: wait },
          "rota for a partner's request could not be built; trying again",
        );
        this.#o.db.sqlite
          .prepare(
            "UPDATE iso18626_brokered SET attempts = attempts + 1, next_attempt_at = ? WHERE partner_id = ? AND partner_request_id = ?",
          )
          .run(new Date(this.#now().getTime() + wait).toISOString(), r.partner_id, r.partner_request_id);
        return;
      }
    }
    this.#o.db.transaction(() => {
      // A Cancel may have ended it while the rota was being built.
      const now = this.#row(r.partner_id, r.partner_request_id);
      if (now?.state !== "rota") return;
      this.#update(now, { rota: JSON.stringify(rota) });
      if (unfilled !== undefined) {
        this.#update(now, { state: "done", last_status: "Unfilled" });
        this.#toPartner(
          now,
          `${now.message_id}.unfilled`,
          ReasonForMessage.REQUEST_RESPONSE,
          Status.UNFILLED,
          this.#now(),
          {
            note: unfilled,
          },
        );
        log.info(
          { partner: r.partner_id, request: r.partner_request_id, why: unfilled },
          "partner's request unfilled",
        );
        return;
      }
      this.#ask({ ...now, rota: JSON.stringify(rota) }, 0, request);
      log.info(
        { partner: r.partner_id, request: r.partner_request_id, rota: rota.map((e) => e.agencyId) },
        "partner's request brokered: rota built",
      );
    });
  }

  /** Sends the partner's request to rota position `n` (0-based; the lender's id counts from 1). */
  #ask(r: Row, n: number, request?: Request): void {
    const rota = JSON.parse(r.rota) as RotaEntry[];
    const lender = rota[n]!.agencyId;
    const req = clone(RequestSchema, request ?? fromBinary(RequestSchema, new Uint8Array(r.request)));
    const messageId = `${r.message_id}.b${n + 1}`;
    const lenderId = lenderRequestId(r.partner_request_id, n + 1);
    req.header = this.#lenderHeader(req.header, r.partner_id, lender, lenderId, messageId);
    this.#update(r, { state: "lending", position: n + 1, asked_at: this.#now().toISOString(), answered: 0 });
    this.#o.relay.acceptFromGateway(
      create(IllEnvelopeSchema, {
        messageId,
        originAgencyId: r.partner_id,
        destinationAgencyId: lender,
        requestingAgencyRequestId: lenderId,
        createdAt: timestampFromDate(this.#now()),
        message: { case: "request", value: req },
      }),
    );
  }

  #lenderHeader(
    h: Header | undefined,
    partnerId: string,
    lender: string,
    lenderId: string,
    messageId: string,
  ): Header {
    const header = h ? clone(HeaderSchema, h) : create(HeaderSchema);
    header.supplyingAgencyId = {
      $typeName: "lrs.v1.AgencyId",
      agencyIdType: LRS_TYPE,
      agencyIdValue: lender,
    };
    header.requestingAgencyId = {
      $typeName: "lrs.v1.AgencyId",
      agencyIdType: LRS_TYPE,
      agencyIdValue: partnerId,
    };
    header.requestingAgencyRequestId = lenderId;
    header.supplyingAgencyRequestId = "";
    header.messageId = messageId;
    header.timestamp = timestampFromDate(this.#now());
    return header;
  }

  /** The lender now asked, or undefined. */
  #lenderOf(r: Row): string | undefined {
    if (r.position < 1) return undefined;
    return (JSON.parse(r.rota) as RotaEntry[])[r.position - 1]?.agencyId;
  }

  #update(
    r: Row,
    set: Partial<Pick<Row, "state" | "rota" | "position" | "last_status" | "asked_at" | "answered">>,
  ): void {
    Object.assign(r, set);
    this.#o.db.sqlite
      .prepare(
        `UPDATE iso18626_brokered SET state = ?, rota = ?, position = ?, last_status = ?, asked_at = ?, answered = ?, updated_at = ?
         WHERE partner_id = ? AND partner_request_id = ?`,
      )
      .run(
        r.state,
        r.rota,
        r.position,
        r.last_status,
        r.asked_at,
        r.answered,
        this.#now().toISOString(),
        r.partner_id,
        r.partner_request_id,
      );
  }

  /** Stores a message of the federation (this center) to the partner in the outbox. */
  #toPartner(
    r: Row,
    messageId: string,
    reason: ReasonForMessage,
    status: Status,
    now: Date,
    extra: { note?: string; answer?: YesNo } = {},
  ): void {
    this.#o.relay.acceptFromGateway(
      supplierEnvelope({
        messageId,
        from: this.#self,
        to: r.partner_id,
        requestingAgencyRequestId: r.partner_request_id,
        supplyingAgencyRequestId: this.#supplierRequestId(r),
        reason,
        status,
        note: extra.note ?? "",
        ...(extra.answer ? { answer: extra.answer } : {}),
        now,
      }),
    );
  }

  /**
   * The relay's interceptor: a lender's message about a brokered request (destination a partner,
   * request id "<partner's>/b<n>"). Runs inside the relay's storing transaction.
   */
  #fromLender(env: IllEnvelope): string | undefined {
    if (!externalPartnerOf(this.#o.directory, env.destinationAgencyId)) return undefined;
    if (env.originAgencyId === this.#self) return undefined;
    if (!institutionsOf(this.#o.directory).get(env.originAgencyId)) return undefined;
    const ids = parseLenderRequestId(env.requestingAgencyRequestId);
    if (!ids) return undefined;
    const r = this.#row(env.destinationAgencyId, ids.partnerRequestId);
    if (!r) return undefined;
    const where = `${this.#self} (broker)`;
    const log = this.#o.log.child({
      partner: r.partner_id,
      request: r.partner_request_id,
      lender: env.originAgencyId,
    });
    const now = this.#now();
    if (ids.position !== r.position || r.state !== "lending" || this.#lenderOf(r) !== env.originAgencyId) {
      log.warn(
        { messageId: env.messageId, position: ids.position },
        "message of a lender no longer asked; kept, not passed on",
      );
      return where;
    }
    const m = env.message;
    switch (m.case) {
      case "requestConfirmation":
        if (m.value.confirmationHeader?.messageStatus === MessageStatus.ERROR)
          this.#next(
            r,
            `${env.originAgencyId} refused the request (${confirmationText(env)})`,
            env.messageId,
            now,
          );
        return where;
      case "requestingAgencyMessageConfirmation": {
        const notice = refusalNotice(
          env,
          ISO18626_CODES.status.fromXml(r.last_status) ?? Status.UNSPECIFIED,
          now,
          {
            from: this.#self,
            requestingAgencyRequestId: r.partner_request_id,
            supplyingAgencyRequestId: this.#supplierRequestId(r),
          },
        );
        if (notice) {
          log.warn({ verdict: confirmationText(env) }, "lender refused the partner's message: partner told");
          this.#o.relay.acceptFromGateway(notice);
        }
        return where;
      }
      case "supplyingAgencyMessage": {
        // The broker confirms the lender's message as the partner would.
        this.#o.relay.acceptFromGateway(
          confirmationOf(env, [], { messageId: `${env.messageId}.confirmation`, receivedAt: now, now }),
        );
        const status = m.value.statusInfo?.status ?? Status.UNSPECIFIED;
        // The broker does not negotiate a lender's terms: RetryPossible passes to the next, like Unfilled.
        if (status === Status.UNFILLED || status === Status.RETRY_POSSIBLE) {
          this.#next(
            r,
            `${env.originAgencyId} cannot supply it${m.value.messageInfo?.note ? ` (${m.value.messageInfo.note})` : ""}`,
            env.messageId,
            now,
            m.value,
          );
          return where;
        }
        this.#update(r, {
          last_status: ISO18626_CODES.status.toXml(status) ?? r.last_status,
          answered: status === Status.REQUEST_RECEIVED ? r.answered : 1,
        });
        this.#o.relay.acceptFromGateway(this.#forward(r, env.messageId, m.value, now));
        return where;
      }
      default:
        return where;
    }
  }

  /** A lender's message as the partner sees it: from the federation, about the partner's request id. */
  #forward(r: Row, causeId: string, s: SupplyingAgencyMessage, now: Date): IllEnvelope {
    const value = clone(SupplyingAgencyMessageSchema, s);
    const messageId = `${causeId}.partner`;
    const h = s.header ? clone(HeaderSchema, s.header) : create(HeaderSchema);
    h.supplyingAgencyId = { $typeName: "lrs.v1.AgencyId", agencyIdType: LRS_TYPE, agencyIdValue: this.#self };
    h.requestingAgencyId = {
      $typeName: "lrs.v1.AgencyId",
      agencyIdType: LRS_TYPE,
      agencyIdValue: r.partner_id,
    };
    h.requestingAgencyRequestId = r.partner_request_id;
    h.supplyingAgencyRequestId = this.#supplierRequestId(r);
    h.messageId = messageId;
    h.timestamp = timestampFromDate(now);
    value.header = h;
    return create(IllEnvelopeSchema, {
      messageId,
      originAgencyId: this.#self,
      destinationAgencyId: r.partner_id,
      requestingAgencyRequestId: r.partner_request_id,
      createdAt: timestampFromDate(now),
      message: { case: "supplyingAgencyMessage", value },
    });
  }

  /** The lender could not supply: the next of the rota is asked (the partner hears ExpectToSupply), or the partner is told Unfilled. */
  #next(r: Row, why: string, causeId: string, now: Date, unfilled?: SupplyingAgencyMessage): void {
    const rota = JSON.parse(r.rota) as RotaEntry[];
    const log = this.#o.log.child({ partner: r.partner_id, request: r.partner_request_id });
    if (r.position < rota.length) {
      this.#ask(r, r.position);
      this.#update(r, { last_status: "ExpectToSupply" });
      this.#toPartner(r, `${causeId}.next`, ReasonForMessage.STATUS_CHANGE, Status.EXPECT_TO_SUPPLY, now, {
        note: "another library of the federation has been asked to supply it",
      });
      log.info(
        { why, next: rota[r.position - 1]?.agencyId },
        "lender could not supply: next of the rota asked",
      );
      return;
    }
    this.#update(r, { state: "done", last_status: "Unfilled" });
    if (unfilled) this.#o.relay.acceptFromGateway(this.#forward(r, causeId, unfilled, now));
    else
      this.#toPartner(r, `${causeId}.unfilled`, ReasonForMessage.REQUEST_RESPONSE, Status.UNFILLED, now, {
        note: `no library of the federation could supply it: ${why}`,
      });
    log.info({ why }, "rota exhausted: partner told Unfilled");
  }
}
