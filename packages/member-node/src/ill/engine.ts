// The member's ILL engine: the request store plus what reaches beyond one transaction: the
// regional center's broker (the rota) and catalog (what a cluster is), the durable timers, the
// inbox of delivered messages, and the automatic responder. Staff (the CLI) and the services
// use this; the store stays free of the network.
import { randomUUID } from "node:crypto";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  AUTO_RESPOND_MODES,
  type CopyStore,
  catalogPb,
  clientFor,
  type copyPb,
  costsOf,
  countPages,
  type Database,
  formatMoney,
  type IllConfig,
  ill,
  illPb,
  illServicePb,
  type LendingPolicyConfig,
  type Logger,
  type Money,
  type NodeTransport,
  type Outbox,
  parseMoney,
  searchPb,
} from "@lrs/shared";
import { CopyDelivery, copyInfoOf } from "../delivery/copies.js";
import type { CopyrightCounter } from "../fees/copyright.js";
import type { MemberLedger } from "../fees/ledger.js";
import type { MemberCatalog } from "../store/catalog.js";
import { IllStateError } from "./errors.js";
import { IllInbox } from "./inbox.js";
import { rotaEntry } from "./planning.js";
import { type Applied, type DeliverOutcome, IllReceiver } from "./receiver.js";
import { AutoResponder, type AutoResponderOptions, type AutoRespondMode, ownRecordsOf } from "./responder.js";
import {
  type ActionDetail,
  type IllRequest,
  IllStore,
  type RotaEntry,
  type TransitionChange,
} from "./store.js";

export type { AutoRespondMode } from "./responder.js";

export interface BorrowInput {
  patronId: string;
  serviceType: illPb.ServiceType;
  clusterId?: string;
  itemIds?: ReadonlyArray<{ code: string; value: string }>;
  title?: string;
  author?: string;
  needBefore?: Date;
  note?: string;
  /** ISO 18626 service level ("Rush"); default normal. */
  serviceLevel?: string;
  /** The most it pays; default `[ill] maximum_cost` (unset: no limit). */
  maximumCost?: Money;
  /** A copy's compliance statement; default `[copyright] compliance`. */
  copyrightCompliance?: string;
  /** When the article appeared ("2024", "2024-05-01"), for the copyright rule. */
  publicationDate?: string;
  /** For a copy (an article or a chapter): ISO bibliographicInfo's component fields. */
  titleOfComponent?: string;
  authorOfComponent?: string;
  volume?: string;
  issue?: string;
  /** "12-34". */
  pages?: string;
}

export interface MessageLogEntry {
  messageId: string;
  direction: "out" | "in";
  /** As TraceHop.kind: "Request", "SupplyingAgencyMessage Loaned", … */
  kind: string;
  at: Date;
  /** Out: when the regional center stored it. */
  deliveredAt?: Date;
  /** Out: when the partner's confirmation came back; in: when this member answered. */
  confirmedAt?: Date;
  /** "OK" or "ERROR: <type>: <value>". */
  confirmation?: string;
}

export interface TimerInfo {
  kind: string;
  dueAt: Date;
}

/** What the engine asks of the regional center (its IllService and CatalogService clients). */
export interface RegionalIll {
  buildRota(
    req: MessageInitShape<typeof illServicePb.BuildRotaRequestSchema>,
    opts: { timeoutMs: number },
  ): Promise<illServicePb.BuildRotaResponse>;
  getCluster(
    req: MessageInitShape<typeof catalogPb.GetClusterRequestSchema>,
    opts: { timeoutMs: number },
  ): Promise<catalogPb.GetClusterResponse>;
}

/** The regional center's ILL broker and catalog over a transport (the member's ParentLink). */
export function regionalIllOf(transport: NodeTransport): RegionalIll {
  const broker = clientFor(illServicePb.IllService, transport);
  const catalog = clientFor(catalogPb.CatalogService, transport);
  return {
    buildRota: (req, opts) => broker.buildRota(req, opts),
    getCluster: (req, opts) => catalog.getCluster(req, opts),
  };
}

export interface IllEngineOptions {
  readonly db: Database;
  readonly outbox: Outbox;
  /** This member's institution id. */
  readonly agencyId: string;
  readonly ill: IllConfig;
  readonly lendingPolicy: LendingPolicyConfig;
  readonly catalog: MemberCatalog;
  readonly regional: RegionalIll;
  readonly log: Logger;
  readonly now?: () => Date;
  readonly newId?: () => string;
  /** How long a lender waits for the borrower's answer to its conditions. Default 7 days. */
  readonly answerTimeoutMs?: number;
  /** How long BuildRota may take. Default 20 s. */
  readonly rotaTimeoutMs?: number;
  /**
   * Document delivery: the node's copy files (uploads, deliveries). Without it (tests of the
   * machines alone) a copy is delivered by the deliver_copy event without a file.
   */
  readonly copies?: CopyStore;
  /** The regional center's id, for what people read. */
  readonly parentId?: () => string;
  /** Whether an agency is an external partner (ISO 18626 gateway): its copies come by URL. */
  readonly isExternalPartner?: (agencyId: string) => boolean;
  /** The copyright rule and the ledger, hooked into the store's transitions; none in tests that do not ask. */
  readonly fees?: { readonly copyright: CopyrightCounter; readonly ledger: MemberLedger };
  /**
   * The first download of a borrowing request's copy, inside the transaction that records that
   * download (a ledger posting made here commits with it; a throw undoes the record, and the next
   * download calls it again). The node charges the copy here.
   */
  readonly onFirstCopyDownload?: (request: IllRequest) => void;
  /**
   * More hooks into every transition's transaction (IllStoreOptions.onTransition), after the
   * fees': the node queues its NCIP calls to the ILS here.
   */
  readonly onTransition?: ReadonlyArray<(change: TransitionChange) => void>;
  /** `[availability] source = "ncip"`: the automatic responder asks the ILS (responder.ts). */
  readonly liveStatuses?: AutoResponderOptions["liveStatuses"];
  /** Each complete download of a copy, the first included (the node counts it in its traffic figures). */
  readonly onEachCopyDownload?: (d: { requestId: string; lender: string; bytes: number; ms: number }) => void;
}

/** One copy on the shelf, as a pull slip lists it. */
export interface ShelfItem {
  readonly recordId: string;
  readonly barcode: string;
  readonly callNumber: string;
  readonly location: string;
  readonly status: string;
}

const DAY_MS = 86_400_000;
/** The automatic responder's mode as set at run time (node_meta). */
const AUTO_RESPOND_KEY = "ill_auto_respond";
const ROTA_RETRY_FIRST_MS = 5_000;
const ROTA_RETRY_MAX_MS = 300_000;
const CLUSTER_TIMEOUT_MS = 10_000;

/** Codes that will not change by asking again. */
const PERMANENT = new Set([
  Code.InvalidArgument,
  Code.NotFound,
  Code.PermissionDenied,
  Code.Unauthenticated,
  Code.FailedPrecondition,
]);

export class IllEngine {
  readonly store: IllStore;
  readonly #inbox: IllInbox;
  readonly #receiver: IllReceiver;
  readonly #responder: AutoResponder;
  /** Document delivery (upload, delivery, download, expiry), when the node has a copy store. */
  readonly copies: CopyDelivery | undefined;
  readonly #o: IllEngineOptions;
  readonly #now: () => Date;
  readonly #log: Logger;
  /** Requests whose rota is being asked for: a timer firing meanwhile does not ask twice. */
  readonly #routing = new Set<string>();
  readonly #pending = new Set<Promise<void>>();
  #ticking = false;

  constructor(opts: IllEngineOptions) {
    this.#o = opts;
    this.#now = opts.now ?? (() => new Date());
    this.#log = opts.log;
    this.store = new IllStore({
      db: opts.db,
      outbox: opts.outbox,
      agencyId: opts.agencyId,
      duplicateWindowMs: opts.ill.duplicate_window,
      loanPeriodMs: opts.lendingPolicy.loan_period_days * DAY_MS,
      maxRenewals: opts.lendingPolicy.max_renewals,
      now: this.#now,
      ...(opts.answerTimeoutMs !== undefined ? { answerTimeoutMs: opts.answerTimeoutMs } : {}),
      ...(opts.newId ? { newId: opts.newId } : {}),
      ...(opts.fees ? { copyrightCheck: opts.fees.copyright.check } : {}),
      onTransition: [
        ...(opts.fees ? [opts.fees.copyright.onTransition, opts.fees.ledger.onTransition] : []),
        ...(opts.onTransition ?? []),
      ],
    });
    this.#inbox = new IllInbox(opts.db);
    this.copies = opts.copies
      ? new CopyDelivery({
          store: this.store,
          copies: opts.copies,
          agencyId: opts.agencyId,
          maxBytes: opts.ill.max_copy_size,
          retentionMs: opts.ill.copy_retention,
          parentId: opts.parentId ?? (() => "the regional center"),
          log: opts.log.child({ part: "ill-copy" }),
          now: this.#now,
          newId: opts.newId ?? randomUUID,
          onFirstDownload: (id) => {
            const request = this.store.get(id);
            if (request) opts.onFirstCopyDownload?.(request);
          },
          ...(opts.onEachCopyDownload ? { onDownloaded: opts.onEachCopyDownload } : {}),
          ...(opts.isExternalPartner ? { isExternalPartner: opts.isExternalPartner } : {}),
        })
      : undefined;
    const copies = this.copies;
    this.#responder = new AutoResponder({
      store: this.store,
      catalog: opts.catalog,
      agencyId: opts.agencyId,
      policy: opts.lendingPolicy,
      mode: () => this.autoResponder(),
      log: opts.log.child({ part: "ill-responder" }),
      now: this.#now,
      clusterRecords: async (clusterId) => {
        const res = await opts.regional.getCluster({ clusterId }, { timeoutMs: CLUSTER_TIMEOUT_MS });
        return ownRecordsOf(res.cluster, opts.agencyId);
      },
      ...(copies ? { deliverCopy: (id: string, why: string) => copies.deliverGenerated(id, why) } : {}),
      ...(opts.liveStatuses ? { liveStatuses: opts.liveStatuses } : {}),
    });
    this.#receiver = new IllReceiver({
      store: this.store,
      inbox: this.#inbox,
      outbox: opts.outbox,
      agencyId: opts.agencyId,
      log: opts.log,
      now: this.#now,
      screenRequest: (req) => this.#responder.screen(req),
      ...(copies ? { screenCopyCompleted: copies.screenCopyCompleted.bind(copies) } : {}),
    });
  }

  /**
   * Runs the timer runner (every `ill.timer_interval`) until the signal aborts, then waits for
   * what is under way. A request left validated by a crash, with no retry scheduled, gets its
   * rota now.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    for (const r of this.store.list({ role: "borrower", status: "validated" }))
      if (!this.store.timers(r.id).some((t) => t.kind === "rota"))
        this.#track(this.#route(r.id, 0).then(() => undefined));
    const interval = setInterval(
      () => this.#track(this.runTimers().then(() => undefined)),
      this.#o.ill.timer_interval,
    );
    await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    clearInterval(interval);
    await this.idle();
  }

  /** Resolves when no automatic action, rota request or timer run is under way. */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /** The copyright rule and the ledger, when the node has them. */
  get fees(): IllEngineOptions["fees"] {
    return this.#o.fees;
  }

  /** Creates, validates, asks the regional center for the rota and sends to the first lender (or leaves it in review / schedules a rota retry when the regional center is unreachable). */
  async borrow(input: BorrowInput): Promise<IllRequest> {
    const bib = await this.#bibliographicInfo(input);
    const maximum = input.maximumCost ?? this.#o.ill.maximum_cost;
    const copy = input.serviceType !== illPb.ServiceType.LOAN;
    const compliance =
      input.copyrightCompliance || (copy ? this.#o.fees?.copyright.rule.compliance : undefined);
    const created = this.store.createBorrowing({
      patronId: input.patronId,
      serviceType: input.serviceType,
      ...(input.clusterId ? { clusterId: input.clusterId } : {}),
      bibliographicInfo: bib,
      ...(input.needBefore ? { needBefore: input.needBefore } : {}),
      ...(input.note ? { note: input.note } : {}),
      ...(input.serviceLevel ? { serviceLevel: input.serviceLevel } : {}),
      ...(maximum ? { maximumCost: formatMoney(maximum) } : {}),
      ...(compliance ? { copyrightCompliance: compliance } : {}),
      ...(input.publicationDate ? { publicationDate: input.publicationDate } : {}),
    });
    if (created.state !== "validated") return created;
    return this.#route(created.id, 0);
  }

  /** A staff action (store.applyAction) plus its follow-ups (e.g. after `approve` the rota is built and sent). */
  async act(
    id: string,
    event: ill.RequesterEvent | ill.SupplierEvent,
    detail?: ActionDetail,
  ): Promise<IllRequest> {
    const current = this.store.get(id);
    // `send` without a rota means: ask the regional center for one now.
    if (current?.role === "borrower" && event === "send" && detail?.rota === undefined)
      return this.#route(id, 0);
    // A copy goes with its file: only an upload delivers it.
    if (this.copies && current?.role === "lender" && event === "deliver_copy")
      throw new IllStateError(
        id,
        current.state,
        event,
        `a copy is delivered by uploading its file: lrs-member ill upload-copy ${id} FILE`,
      );
    const { request } = this.store.applyAction(id, event, detail);
    if (request.role === "borrower" && event === "approve" && request.state === "validated")
      return this.#route(id, 0);
    return request;
  }

  /** Applies an envelope the parent delivered; the automatic responder follows outside its transaction. */
  deliver(env: illServicePb.IllEnvelope): DeliverOutcome {
    const outcome = this.#receiver.receive(env);
    const applied = outcome.applied;
    if (applied && !applied.replayed) this.#afterApplied(applied);
    return outcome;
  }

  /** Every message sent and received for a request, in time order. */
  messages(id: string): MessageLogEntry[] {
    const sentIds = this.store.timeline(id).flatMap((e) => e.detail.sent ?? []);
    const out: MessageLogEntry[] = this.#inbox.sent(sentIds).map((m) => {
      const entry: MessageLogEntry = {
        messageId: m.messageId,
        direction: "out",
        kind: describeOutgoing(m.kind, m.payload),
        at: m.createdAt,
      };
      if (m.deliveredAt) entry.deliveredAt = m.deliveredAt;
      const c = this.#inbox.confirmation(m.messageId);
      if (c) {
        entry.confirmedAt = c.receivedAt;
        entry.confirmation = c.status;
      }
      return entry;
    });
    const received: MessageLogEntry[] = this.#inbox
      .forRequest(id)
      // A confirmation of ours shows on the message it confirms.
      .filter((e) => e.confirmationMessageId !== undefined)
      .map((e) => ({
        messageId: e.messageId,
        direction: "in",
        kind: e.kind,
        at: e.receivedAt,
        confirmedAt: e.receivedAt,
        confirmation: e.outcome === "applied" ? "OK" : `ERROR: ${e.error ?? "refused"}`,
      }));
    return [...out, ...received].sort((a, b) => a.at.getTime() - b.at.getTime());
  }

  /** The copy of a request (document delivery), as staff see it; undefined before there is one. */
  /**
   * This library's copies of what a lender request asks for (its records as the responder finds
   * them: by record id, ISBN/ISSN, else the union cluster), for pull slips.
   */
  async shelfItems(request: IllRequest): Promise<ShelfItem[]> {
    const items: ShelfItem[] = [];
    for (const recordId of await this.#responder.recordIds(request)) {
      for (const h of this.#o.catalog.get(recordId)?.holdings ?? [])
        items.push({
          recordId,
          barcode: h.barcode,
          callNumber: h.callNumber,
          location: h.location,
          status: h.status,
        });
    }
    return items;
  }

  copyInfo(id: string): copyPb.CopyInfo | undefined {
    const latest = this.copies?.latest(id);
    return latest ? copyInfoOf(latest) : undefined;
  }

  /** Pending timers of a request: "response", "due", "answer", "rota", "copy_expiry". */
  timers(id: string): TimerInfo[] {
    return this.store.timers(id).map((t) => ({ kind: t.kind, dueAt: t.dueAt }));
  }

  autoResponder(): AutoRespondMode {
    const set = this.store.setting(AUTO_RESPOND_KEY);
    return AUTO_RESPOND_MODES.find((m) => m === set) ?? this.#o.ill.auto_respond;
  }

  /** Switches the automatic responder; the choice survives restarts. Staff's text is checked by IllStaffService. */
  setAutoResponder(mode: AutoRespondMode): void {
    this.store.setSetting(AUTO_RESPOND_KEY, mode);
    this.#log.info({ mode }, "automatic responder set");
  }

  /**
   * Fires the timers due now, each in its own transaction; a refused event is logged and the
   * timer dropped. Returns how many were handled.
   */
  async runTimers(): Promise<number> {
    if (this.#ticking) return 0;
    this.#ticking = true;
    try {
      let n = 0;
      for (const t of this.store.dueTimers(this.#now())) {
        n++;
        if (t.kind === "rota") {
          await this.#route(t.requestId, t.attempts);
          continue;
        }
        if (t.kind === "copy_expiry") {
          try {
            if (this.copies) await this.copies.expire(t.requestId);
            else this.store.cancelTimer(t.requestId, t.kind);
          } catch (err) {
            this.#log.error({ err, requestId: t.requestId }, "copy expiry failed; retried at the next turn");
          }
          continue;
        }
        try {
          const r = this.store.fireTimer(t.requestId, t.kind);
          if (r.fired)
            this.#log.info({ requestId: t.requestId, timer: t.kind, event: r.event }, "ILL timer fired");
          else
            this.#log.warn(
              { requestId: t.requestId, timer: t.kind, event: r.event, reason: r.reason },
              "ILL timer dropped",
            );
        } catch (err) {
          this.#log.error({ err, requestId: t.requestId, timer: t.kind }, "ILL timer failed");
        }
      }
      return n;
    } finally {
      this.#ticking = false;
    }
  }

  #afterApplied(applied: Applied): void {
    this.#track(
      new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
        try {
          if (applied.event === "created") await this.#responder.answer(applied.requestId);
          else this.#responder.followUp(applied);
        } catch (err) {
          this.#log.error({ err, requestId: applied.requestId }, "automatic responder failed");
        }
      }),
    );
  }

  #track(p: Promise<void>): void {
    const tracked = p.catch((err: unknown) => this.#log.error({ err }, "ILL background task failed"));
    this.#pending.add(tracked);
    void tracked.finally(() => this.#pending.delete(tracked));
  }

  /**
   * Asks the regional center for the rota of a validated request and sends it to the first
   * lender. Unreachable: a note and a `rota` timer with backoff (5 s … 5 min). `attempts` is
   * how many times it failed before.
   */
  async #route(id: string, attempts: number): Promise<IllRequest> {
    const current = this.store.get(id);
    if (!current) return this.#mustGet(id);
    if (current.role !== "borrower" || current.state !== "validated") {
      this.store.cancelTimer(id, "rota");
      return current;
    }
    if (this.#routing.has(id)) return current;
    this.#routing.add(id);
    try {
      const bib = current.bibliographicInfo;
      let res: illServicePb.BuildRotaResponse;
      try {
        res = await this.#o.regional.buildRota(
          {
            clusterId: current.clusterId ?? "",
            itemIds: bib.bibliographicItemId,
            title: bib.title,
            author: bib.author,
            serviceType: current.serviceType,
            requestingAgencyId: this.#o.agencyId,
            ...(current.needBefore ? { needBefore: timestampFromDate(current.needBefore) } : {}),
            // Lenders charging more than the request pays are left out; each entry says its charge.
            ...(current.maximumCost ? { maximumCosts: costsOf(parseMoney(current.maximumCost)) } : {}),
            serviceLevel: current.serviceLevel,
            pages: countPages(bib.pagesRequested) ?? 0,
            requestId: id,
          },
          { timeoutMs: this.#o.rotaTimeoutMs ?? 20_000 },
        );
      } catch (err) {
        return this.#rotaFailed(id, attempts, ConnectError.from(err));
      }
      if (res.clusterId && (bib.title === "" || !current.clusterId))
        await this.#resolveTitle(id, res.clusterId);
      const rota = res.rota.map(rotaEntryOf);
      const excluded = res.excluded.map(rotaEntryOf);
      const cluster = res.clusterId ? ` for cluster ${res.clusterId}` : "";
      const note =
        rota.length === 0
          ? `the regional center found no lender${cluster} (${excluded.length} holder(s) left out)`
          : `rota of ${rota.length} lender(s)${cluster} from the regional center`;
      return this.#send(id, { rota, excluded, note });
    } finally {
      this.#routing.delete(id);
    }
  }

  /** A request made by identifier gets the title of the cluster the broker found (best effort). */
  async #resolveTitle(id: string, clusterId: string): Promise<void> {
    try {
      const { cluster } = await this.#o.regional.getCluster({ clusterId }, { timeoutMs: CLUSTER_TIMEOUT_MS });
      this.store.resolveTitle(id, clusterId, { title: cluster?.title ?? "", author: cluster?.author ?? "" });
    } catch (err) {
      this.#log.warn({ requestId: id, clusterId, err: (err as Error).message }, "cluster lookup failed");
      this.store.resolveTitle(id, clusterId, { title: "", author: "" });
    }
  }

  #rotaFailed(id: string, attempts: number, err: ConnectError): IllRequest {
    if (err.code === Code.NotFound) {
      // Nothing holds what is asked for: the machine ends the request (end of rota).
      return this.#send(id, {
        rota: [],
        excluded: [],
        note: `the regional center knows no holder: ${err.rawMessage}`,
      });
    }
    if (PERMANENT.has(err.code)) {
      this.#log.warn({ requestId: id, code: Code[err.code], err: err.rawMessage }, "rota refused");
      this.store.cancelTimer(id, "rota");
      this.store.note(
        id,
        "rota_refused",
        `the regional center refused to build the rota: ${err.rawMessage}`,
        {
          attention: `no rota: ${err.rawMessage} (correct the request, or cancel it)`,
        },
      );
      return this.#mustGet(id);
    }
    const delay = Math.min(ROTA_RETRY_MAX_MS, ROTA_RETRY_FIRST_MS * 2 ** attempts);
    const dueAt = new Date(this.#now().getTime() + delay);
    this.#log.warn(
      { requestId: id, code: Code[err.code], attempts: attempts + 1, delay },
      "rota: regional center unreachable",
    );
    try {
      this.store.scheduleRotaRetry(
        id,
        dueAt,
        attempts + 1,
        `the regional center could not build the rota (${Code[err.code]}: ${err.rawMessage}); retrying in ${Math.round(delay / 1000)} s`,
      );
    } catch (e) {
      if (!(e instanceof IllStateError)) throw e;
    }
    return this.#mustGet(id);
  }

  #send(id: string, detail: ActionDetail): IllRequest {
    try {
      return this.store.applyAction(id, "send", detail).request;
    } catch (err) {
      // Staff cancelled it while the rota was on its way.
      if (!(err instanceof IllStateError)) throw err;
      this.#log.info({ requestId: id, reason: err.reason }, "rota not used");
      return this.#mustGet(id);
    }
  }

  #mustGet(id: string): IllRequest {
    const r = this.store.get(id);
    if (!r) throw new Error(`ILL request ${id} vanished`);
    return r;
  }

  /** The request's bibliographic info; a bare cluster id is filled in from the union catalog. */
  async #bibliographicInfo(
    input: BorrowInput,
  ): Promise<MessageInitShape<typeof illPb.BibliographicInfoSchema>> {
    const bib = create(illPb.BibliographicInfoSchema, {
      title: input.title?.trim() ?? "",
      author: input.author?.trim() ?? "",
      titleOfComponent: input.titleOfComponent?.trim() ?? "",
      authorOfComponent: input.authorOfComponent?.trim() ?? "",
      volume: input.volume?.trim() ? [input.volume.trim()] : [],
      issue: input.issue?.trim() ?? "",
      pagesRequested: input.pages?.trim() ?? "",
      bibliographicItemId: (input.itemIds ?? []).map((i) => ({
        bibliographicItemIdentifierCode: i.code,
        bibliographicItemIdentifier: i.value,
      })),
    });
    const clusterId = input.clusterId?.trim();
    if (!clusterId || bib.title !== "") return bib;
    try {
      const { cluster } = await this.#o.regional.getCluster({ clusterId }, { timeoutMs: CLUSTER_TIMEOUT_MS });
      if (cluster) {
        bib.title = cluster.title;
        if (bib.author === "") bib.author = cluster.author;
        if (bib.bibliographicItemId.length === 0)
          bib.bibliographicItemId = [
            ...cluster.isbns.map((v) => itemId("ISBN", v)),
            ...cluster.issns.map((v) => itemId("ISSN", v)),
          ];
      }
    } catch (err) {
      // The cluster id alone still makes a request; the broker resolves it.
      this.#log.warn({ clusterId, err: (err as Error).message }, "cluster lookup failed");
    }
    return bib;
  }
}

function itemId(code: string, value: string): illPb.BibliographicItemId {
  return create(illPb.BibliographicItemIdSchema, {
    bibliographicItemIdentifierCode: code,
    bibliographicItemIdentifier: value,
  });
}

function describeOutgoing(kind: string, payload: Uint8Array): string {
  try {
    return ill.describeEnvelope(ill.envelopeFromOutbox(kind, payload));
  } catch {
    return kind;
  }
}

const AVAILABILITY_NAMES: ReadonlyArray<[searchPb.Availability, string]> = [
  [searchPb.Availability.AVAILABLE, "available"],
  [searchPb.Availability.ON_LOAN, "on_loan"],
  [searchPb.Availability.NOT_LENDABLE, "not_lendable"],
  [searchPb.Availability.UNKNOWN, "unknown"],
];

/** "available", "on_loan", "not_lendable", "unknown", or "" when unspecified. */
export function availabilityName(a: searchPb.Availability): string {
  return AVAILABILITY_NAMES.find(([v]) => v === a)?.[1] ?? "";
}

export function availabilityOfName(name: string | undefined): searchPb.Availability {
  return AVAILABILITY_NAMES.find(([, n]) => n === name)?.[0] ?? searchPb.Availability.UNSPECIFIED;
}

/** A broker's candidate as the store keeps it. */
export function rotaEntryOf(c: illServicePb.RotaCandidate): RotaEntry {
  return rotaEntry({
    agencyId: c.agencyId,
    reason: c.reason,
    region: c.region,
    recordId: c.recordId,
    clusterId: c.clusterId,
    responseTimeSeconds: c.responseTimeSeconds,
    availability: availabilityName(c.availability),
    lent: Number(c.lent),
    borrowed: Number(c.borrowed),
    ...(c.charge && c.charge.currencyCode !== ""
      ? { charge: { currency: c.charge.currencyCode, amount: c.charge.monetaryValue } }
      : {}),
  });
}

/** A stored rota entry on the wire again (StaffRequest.rota / excluded). */
export function rotaCandidateOf(e: RotaEntry, included: boolean): illServicePb.RotaCandidate {
  return create(illServicePb.RotaCandidateSchema, {
    agencyId: e.agencyId,
    region: e.region ?? "",
    recordId: e.recordId ?? "",
    clusterId: e.clusterId ?? "",
    included,
    reason: e.reason,
    responseTimeSeconds: e.responseTimeSeconds ?? 0,
    availability: availabilityOfName(e.availability),
    lent: BigInt(e.lent ?? 0),
    borrowed: BigInt(e.borrowed ?? 0),
    ...(e.charge ? { charge: { currencyCode: e.charge.currency, monetaryValue: e.charge.amount } } : {}),
  });
}
