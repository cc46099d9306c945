// `lrs-member ill …`: interlibrary loan at the desk. Every command calls the node's own
// IllStaffService over mTLS with the node's certificate; the node does the work, the CLI checks
// what it can without the node (arguments, dates, ISBNs) and prints.
import { create } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Client, createClient } from "@connectrpc/connect";
import {
  configOption,
  costsOf,
  ill,
  illPb,
  illServicePb,
  loadConfig,
  normalizeIsbn,
  normalizeIssn,
  parseDuration,
  parseMoney,
  printJson,
  printTable,
  searchPb,
  selfTransport,
  Tier,
} from "@lrs/shared";
import { Argument, type Command, Option } from "commander";
import { ARTICLE_KEYS, articleRequest } from "../ill/article.js";
import { humanMs, humanSeconds, turnaround } from "../ill/report.js";
import {
  AUTO_RESPOND_MODES,
  BORROWER_VERBS,
  LIBRARY_PATRON,
  parseServiceType,
  RESPOND_ANSWERS,
  SHIP_AS,
} from "../services/ill-staff.js";
import { type CopyJson, copyJson, formatCopy } from "./delivery.js";

type StaffClient = Client<typeof illServicePb.IllStaffService>;

/** How the commands reach the node (tests hand in an in-memory transport). */
export interface IllCliDeps {
  connect(configPath: string): { readonly client: StaffClient; close(): void };
  now(): Date;
}

const defaultDeps: IllCliDeps = {
  connect(configPath) {
    const t = selfTransport(loadConfig(Tier.MEMBER, configPath));
    return { client: createClient(illServicePb.IllStaffService, t.transport), close: () => t.close() };
  },
  now: () => new Date(),
};

/** Borrowing and acting may wait on the regional center (rota, availability); the rest is local. */
const SLOW_MS = 30_000;
const FAST_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// JSON output
// ---------------------------------------------------------------------------------------------

/** One lender of the rota, or one holder left out of it. */
export interface RotaJson {
  /** 1-based place in the rota; null for a holder left out. */
  position: number | null;
  agencyId: string;
  region: string | null;
  recordId: string | null;
  clusterId: string | null;
  /** Why it is there, or why it was left out. */
  reason: string;
  responseTimeSeconds: number | null;
  /** "available", "on_loan", "not_lendable", "unknown", or null when nobody asked. */
  availability: string | null;
  lent: number;
  borrowed: number;
  /** What the lender charges for the request ("8.50 EUR", "0.00 EUR" for a reciprocal partner); null: no fees. */
  charge: string | null;
  /** The lender asked now (borrower side). */
  current: boolean;
}

export interface TimelineJson {
  seq: number;
  /** null on the entry that created the request. */
  from: string | null;
  to: string;
  event: string;
  /** ISO 8601, UTC. */
  at: string;
  note: string;
  effects: string[];
  /** The arriving message that caused it. */
  messageId: string | null;
  /** The messages it sent. */
  sent: string[];
  /** A status that only repeated the known one: recorded, not applied. */
  repeated: boolean;
}

export interface MessageJson {
  messageId: string;
  direction: "in" | "out";
  kind: string;
  at: string | null;
  deliveredAt: string | null;
  confirmedAt: string | null;
  /** "OK" or "ERROR: <type>: <value>"; null while unconfirmed. */
  confirmation: string | null;
}

/** The article (or chapter) of a copy request: ISO bibliographicInfo's component fields. */
export interface ArticleJson {
  title: string | null;
  author: string | null;
  volume: string | null;
  issue: string | null;
  pages: string | null;
}

export interface TimerJson {
  kind: string;
  dueAt: string | null;
}

/**
 * A request as `ill … --json` prints it: `request`, `show` and every action print one object,
 * `list` an array of them. The shape is stable (cross-node tests read it): every key is always
 * present; identifiers and dates that are absent are null (never ""), free text (title, author,
 * note) is a string, possibly empty; dates are ISO 8601 in UTC. `messages` and `timers` are null
 * in `list` (not asked for) and arrays otherwise.
 */
export interface IllRequestJson {
  id: string;
  role: "borrower" | "lender";
  /** The state in this side's machine: "sent_to_supplier", "shipped", ... */
  status: string;
  type: "loan" | "copy" | "copy-or-loan";
  /** The lender asked now (borrower side) or the borrower (lender side). */
  partner: string | null;
  clusterId: string | null;
  title: string;
  author: string;
  patronId: string | null;
  note: string;
  needBefore: string | null;
  dueDate: string | null;
  createdAt: string | null;
  updatedAt: string | null;
  /** 0-based index of the current lender in `rota`; -1 before the request goes out. */
  rotaPosition: number;
  requestingAgencyRequestId: string | null;
  supplyingAgencyRequestId: string | null;
  /** The lender's latest ISO 18626 status ("WillSupply", ...). */
  supplierStatus: string | null;
  renewalsUsed: number;
  maxRenewals: number;
  duplicateOf: string | null;
  /** Something staff must look at. */
  attention: string | null;
  /** The CLI actions the state allows now ("ship", "respond", ...). */
  actions: string[];
  rota: RotaJson[];
  excluded: RotaJson[];
  /** Every transition, oldest first. */
  timeline: TimelineJson[];
  messages: MessageJson[] | null;
  timers: TimerJson[] | null;
  /** Identifiers of what is asked for ({code: "ISSN", value: "0001-5180"}). */
  identifiers: Array<{ code: string; value: string }>;
  /** A copy's article or chapter; null when the request names none. */
  article: ArticleJson | null;
  /** A copy request's file (document delivery); null before there is one. */
  copy: CopyJson | null;
}

const orNull = (s: string): string | null => (s === "" ? null : s);
const iso = (ts: Timestamp | undefined): string | null => (ts ? timestampDate(ts).toISOString() : null);

const AVAILABILITY_WORD: Readonly<Record<number, string>> = {
  [searchPb.Availability.AVAILABLE]: "available",
  [searchPb.Availability.ON_LOAN]: "on_loan",
  [searchPb.Availability.NOT_LENDABLE]: "not_lendable",
  [searchPb.Availability.UNKNOWN]: "unknown",
};

function rotaJson(c: illServicePb.RotaCandidate, position: number | null, current: boolean): RotaJson {
  return {
    position,
    agencyId: c.agencyId,
    region: orNull(c.region),
    recordId: orNull(c.recordId),
    clusterId: orNull(c.clusterId),
    reason: c.reason,
    responseTimeSeconds: c.responseTimeSeconds === 0 ? null : c.responseTimeSeconds,
    availability: AVAILABILITY_WORD[c.availability] ?? null,
    lent: Number(c.lent),
    borrowed: Number(c.borrowed),
    charge: chargeOf(c),
    current,
  };
}

/** "8.50 EUR": a candidate's charge; null when it publishes no fees. */
function chargeOf(c: illServicePb.RotaCandidate): string | null {
  return c.charge && c.charge.currencyCode !== ""
    ? `${c.charge.monetaryValue} ${c.charge.currencyCode}`
    : null;
}

function articleJson(b: illPb.BibliographicInfo | undefined): ArticleJson | null {
  if (!b) return null;
  const a: ArticleJson = {
    title: orNull(b.titleOfComponent),
    author: orNull(b.authorOfComponent),
    volume: orNull(b.volume.join(", ")),
    issue: orNull(b.issue),
    pages: orNull(b.pagesRequested),
  };
  return Object.values(a).some((v) => v !== null) ? a : null;
}

/** The JSON form of a StaffRequest; `detail` says whether messages and timers were asked for. */
export function requestJson(r: illServicePb.StaffRequest, detail: boolean): IllRequestJson {
  return {
    id: r.id,
    role: r.role as IllRequestJson["role"],
    status: r.status,
    type: r.type as IllRequestJson["type"],
    partner: orNull(r.partner),
    clusterId: orNull(r.clusterId),
    title: r.title,
    author: r.author,
    patronId: orNull(r.patronId),
    note: r.note,
    needBefore: iso(r.needBefore),
    dueDate: iso(r.dueDate),
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
    rotaPosition: r.rotaPosition,
    requestingAgencyRequestId: orNull(r.requestingAgencyRequestId),
    supplyingAgencyRequestId: orNull(r.supplyingAgencyRequestId),
    supplierStatus: orNull(r.supplierStatus),
    renewalsUsed: r.renewalsUsed,
    maxRenewals: r.maxRenewals,
    duplicateOf: orNull(r.duplicateOf),
    attention: orNull(r.attention),
    actions: [...r.actions],
    rota: r.rota.map((c, i) => rotaJson(c, i + 1, r.role === "borrower" && i === r.rotaPosition)),
    excluded: r.excluded.map((c) => rotaJson(c, null, false)),
    timeline: r.timeline.map((t) => ({
      seq: Number(t.seq),
      from: orNull(t.from),
      to: t.to,
      event: t.event,
      at: iso(t.at) ?? "",
      note: t.note,
      effects: [...t.effects],
      messageId: orNull(t.messageId),
      sent: [...t.sent],
      repeated: t.repeated,
    })),
    messages: detail
      ? r.messages.map((m) => ({
          messageId: m.messageId,
          direction: m.direction as MessageJson["direction"],
          kind: m.kind,
          at: iso(m.at),
          deliveredAt: iso(m.deliveredAt),
          confirmedAt: iso(m.confirmedAt),
          confirmation: orNull(m.confirmation),
        }))
      : null,
    timers: detail ? r.timers.map((t) => ({ kind: t.kind, dueAt: iso(t.dueAt) })) : null,
    identifiers: (r.bibliographicInfo?.bibliographicItemId ?? []).map((i) => ({
      code: i.bibliographicItemIdentifierCode,
      value: i.bibliographicItemIdentifier,
    })),
    article: articleJson(r.bibliographicInfo),
    copy: r.copy ? copyJson(r.copy) : null,
  };
}

// ---------------------------------------------------------------------------------------------
// Human output
// ---------------------------------------------------------------------------------------------

/** "2025-03-10 09:00:00Z" */
function when(ts: Timestamp | undefined): string {
  return ts
    ? timestampDate(ts)
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d+Z$/, "Z")
    : "-";
}

function day(ts: Timestamp | undefined): string {
  return ts ? timestampDate(ts).toISOString().slice(0, 10) : "-";
}

function describeState(r: illServicePb.StaffRequest): string {
  const states: Readonly<Record<string, { describe: string }>> =
    r.role === "borrower" ? ill.requesterMachine.states : ill.supplierMachine.states;
  const info = Object.hasOwn(states, r.status) ? states[r.status] : undefined;
  return info ? `${r.status} (${info.describe})` : r.status;
}

function titleLine(r: illServicePb.StaffRequest): string {
  if (r.title === "") return r.clusterId || "-";
  return r.author ? `${r.title} / ${r.author}` : r.title;
}

function nextLine(r: illServicePb.StaffRequest): string {
  return r.actions.length === 0
    ? "next: nothing for staff to do"
    : `next: ${r.actions.join(", ")}   (lrs-member ill <action> ${r.id})`;
}

/** Writes the lines of a request as `ill show` prints it. */
export function formatRequest(r: illServicePb.StaffRequest): string {
  const out: string[] = [];
  const field = (name: string, value: string) => out.push(`${name.padEnd(13)}${value}`);
  out.push(`ILL request ${r.id}  (${r.role}, ${r.type || "?"})`);
  field("status", describeState(r));
  field("title", titleLine(r));
  if (r.clusterId) field("cluster", r.clusterId);
  field(r.role === "borrower" ? "lender" : "borrower", r.partner || "-");
  if (r.patronId) field("patron", r.patronId);
  if (r.needBefore) field("need before", day(r.needBefore));
  if (r.dueDate) field("due", when(r.dueDate));
  if (r.dueDate || r.renewalsUsed > 0) field("renewals", `${r.renewalsUsed} of ${r.maxRenewals}`);
  if (r.supplierStatus) field("lender says", r.supplierStatus);
  if (r.requestingAgencyRequestId || r.supplyingAgencyRequestId)
    field(
      "ISO ids",
      `requester ${r.requestingAgencyRequestId || "-"}, supplier ${r.supplyingAgencyRequestId || "-"}`,
    );
  if (r.duplicateOf) field("duplicate of", r.duplicateOf);
  const article = articleJson(r.bibliographicInfo);
  if (article) {
    const where = [
      article.volume ? `vol. ${article.volume}` : "",
      article.issue ? `no. ${article.issue}` : "",
      article.pages ? `pp. ${article.pages}` : "",
    ].filter(Boolean);
    field("article", [article.title ?? "-", article.author].filter(Boolean).join(" / "));
    if (where.length > 0) field("", where.join(", "));
  }
  const ids = (r.bibliographicInfo?.bibliographicItemId ?? []).map(
    (i) => `${i.bibliographicItemIdentifierCode} ${i.bibliographicItemIdentifier}`,
  );
  if (ids.length > 0) field("identifiers", ids.join(", "));
  if (r.note) field("note", r.note);
  field("created", `${when(r.createdAt)}, updated ${when(r.updatedAt)}`);
  if (r.attention) field("ATTENTION", r.attention);

  const lender = (c: illServicePb.RotaCandidate) => {
    const bits = [
      c.agencyId.padEnd(16),
      (c.region || "-").padEnd(8),
      (AVAILABILITY_WORD[c.availability] ?? "-").padEnd(13),
      c.responseTimeSeconds ? `answers within ${humanSeconds(c.responseTimeSeconds)}` : "",
    ];
    return `${bits.join(" ").trimEnd()}${c.reason ? ` — ${c.reason}` : ""}`;
  };
  if (r.rota.length > 0) {
    const asked = r.rotaPosition >= 0 ? `, asking ${r.rotaPosition + 1} of ${r.rota.length}` : "";
    out.push("", `rota (${r.rota.length} lender${r.rota.length === 1 ? "" : "s"}${asked})`);
    r.rota.forEach((c, i) => {
      const mark = r.role === "borrower" && i === r.rotaPosition ? ">" : " ";
      out.push(`  ${mark} ${String(i + 1).padStart(2)}. ${lender(c)}`);
    });
  }
  if (r.excluded.length > 0) {
    out.push("", "left out of the rota");
    for (const c of r.excluded) out.push(`        ${lender(c)}`);
  }
  if (r.timeline.length > 0) {
    out.push("", "timeline");
    for (const t of r.timeline) {
      const move = `${t.from || "·"} → ${t.to}`;
      const extra = [t.repeated ? "(repeated status)" : "", t.note ? `"${t.note}"` : ""].filter(Boolean);
      out.push(`  ${when(t.at)}  ${move.padEnd(40)} ${t.event}${extra.length ? `  ${extra.join(" ")}` : ""}`);
    }
  }
  if (r.messages.length > 0) {
    out.push("", "messages");
    for (const m of r.messages) {
      const state =
        m.direction === "out"
          ? [
              m.deliveredAt ? `delivered ${when(m.deliveredAt)}` : "not delivered yet",
              m.confirmation ? `confirmed ${m.confirmation}` : "",
            ]
          : [m.confirmation ? `answered ${m.confirmation}` : ""];
      out.push(
        `  ${m.direction.padEnd(3)} ${when(m.at)}  ${m.kind.padEnd(34)} ${state.filter(Boolean).join(", ")}`.trimEnd(),
      );
    }
  }
  if (r.copy)
    out.push(
      "",
      r.role === "borrower" ? "copy (document delivery)" : "copy uploaded",
      ...formatCopy(r.copy, r.role),
    );
  if (r.timers.length > 0) {
    out.push("", "timers");
    for (const t of r.timers) out.push(`  ${t.kind.padEnd(10)} ${when(t.dueAt)}`);
  }
  out.push("", nextLine(r));
  return `${out.join("\n")}\n`;
}

/** One line after an action or a new request: where it stands now and what comes next. */
export function formatOutcome(r: illServicePb.StaffRequest): string {
  const last = r.timeline.at(-1);
  const move = last ? ` (${last.from || "·"} → ${last.to} by ${last.event})` : "";
  const partner = r.partner ? `, ${r.role === "borrower" ? "lender" : "borrower"} ${r.partner}` : "";
  const attention = r.attention ? `\nATTENTION: ${r.attention}` : "";
  return `${r.id}: ${r.status}${move}${partner}${attention}\n${nextLine(r)}\n`;
}

// ---------------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------------

/** A "YYYY-MM-DD" day as midnight UTC; `what` names the option in the error. */
export function parseDay(what: string, text: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
  if (!m || !d || d.toISOString().slice(0, 10) !== text.trim())
    throw new Error(`${what}: "${text}" is not a date (YYYY-MM-DD)`);
  return d;
}

function futureDay(what: string, text: string, now: Date): Date {
  const d = parseDay(what, text);
  if (d.getTime() <= now.getTime()) throw new Error(`${what}: ${text} is not in the future`);
  return d;
}

const REASON_CODES = [...ill.ISO18626_CODES.reasonUnfilled.codes.values()];

/** An ISO reasonUnfilled code, any case, as ISO spells it. */
function reasonCode(text: string): string {
  const code = REASON_CODES.find((c) => c.toLowerCase() === text.trim().toLowerCase());
  if (!code)
    throw new Error(`--reason: "${text}" is not an ISO 18626 reason; use one of ${REASON_CODES.join(", ")}`);
  return code;
}

const jsonOption = () => new Option("--json", "print as JSON (see the shape in ill --help)");

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

interface ActionSpec {
  readonly verb: string;
  readonly who: "borrower" | "lender" | "both";
  readonly what: string;
  readonly due?: boolean;
  readonly example?: string;
}

const ACTIONS: readonly ActionSpec[] = [
  { verb: "pick", who: "lender", what: "print the pull slip and fetch the item" },
  {
    verb: "ship",
    who: "lender",
    what: "lend and send the item (a loan; a copy is delivered with ill upload-copy)",
    due: true,
    example: "--due 2026-07-01",
  },
  { verb: "receive", who: "borrower", what: "the item arrived from the lender" },
  { verb: "return", who: "borrower", what: "the item is shipped back to the lender" },
  { verb: "checkin", who: "lender", what: "the returned item is back on the shelf" },
  { verb: "renew", who: "borrower", what: "ask the lender for a longer loan" },
  {
    verb: "cancel",
    who: "both",
    what: "borrower: withdraw the request; lender: accept the borrower's cancel, or else answer no",
  },
  { verb: "recall", who: "lender", what: "ask for the item back early" },
  { verb: "approve", who: "borrower", what: "a request held as a possible duplicate goes out after all" },
  { verb: "accept", who: "borrower", what: "accept the lender's conditions" },
  { verb: "reject", who: "borrower", what: "reject the lender's conditions: the next lender is asked" },
  { verb: "status", who: "borrower", what: "ask the lender where the request stands" },
  { verb: "overdue", who: "lender", what: "tell the borrower the loan is overdue (after the due date)" },
  { verb: "lost", who: "lender", what: "close the loan without the item (lost and paid for)" },
  {
    verb: "approve-renew",
    who: "lender",
    what: "grant the borrower's renewal",
    due: true,
    example: "--due 2026-08-01",
  },
  { verb: "refuse-renew", who: "lender", what: "refuse the borrower's renewal" },
  { verb: "accept-cancel", who: "lender", what: "accept the borrower's cancel" },
  {
    verb: "refuse-cancel",
    who: "lender",
    what: "refuse the borrower's cancel (the item is already on its way)",
  },
];

const ILL_HELP = `
A borrowing request goes to the lenders of its rota one at a time (own region first); each
lender answers, ships, and checks the item in when it is back. "ill show ID" lists the actions
the request's state allows; an action the state does not allow is refused and changes nothing.

Borrower actions: ${BORROWER_VERBS.join(", ")}
Lender actions:   respond, pick, ship, checkin, recall, overdue, lost, approve-renew,
                  refuse-renew, accept-cancel, refuse-cancel, cancel
Copies (document delivery): the lender delivers with "ill upload-copy ID FILE" (a PDF or image,
streamed and checked by SHA-256 at every hop); the borrower gets it with "ill download-copy ID"
until [ill] copy_retention has passed, when it is deleted and "ill show" says so.

--json prints a request as one object (list: an array) with every key always present:
  id, role ("borrower"|"lender"), status (state name), type ("loan"|"copy"|"copy-or-loan"),
  partner, clusterId, title, author, patronId, note, needBefore, dueDate, createdAt, updatedAt,
  rotaPosition, requestingAgencyRequestId, supplyingAgencyRequestId, supplierStatus,
  renewalsUsed, maxRenewals, duplicateOf, attention, actions[],
  rota[] and excluded[] ({position, agencyId, region, recordId, clusterId, reason,
    responseTimeSeconds, availability, lent, borrowed, charge, current}),
  timeline[] ({seq, from, to, event, at, note, effects[], messageId, sent[], repeated}),
  messages[] ({messageId, direction, kind, at, deliveredAt, confirmedAt, confirmation}),
  timers[] ({kind, dueAt}), identifiers[] ({code, value}),
  article ({title, author, volume, issue, pages} of a copy's article, or null),
  copy ({transferId, fileName, size, sha256, mediaType, from, to, state, storedAt, forwardedAt,
    availableUntil, deletedAt, deletedReason, firstDownloadedAt, downloads}, or null).
Absent ids and dates are null; dates are ISO 8601 UTC; messages and timers are null in list.

Examples:
  $ lrs-member ill request --config member.toml --isbn 978-0-19-282760-6 --type loan
  $ lrs-member ill list --config member.toml --role lender --status new
  $ lrs-member ill show --config member.toml 3f1c…
  $ lrs-member ill respond --config member.toml 3f1c… no --reason NotOnShelf`;

/** Adds `ill` and its commands to the member's program. */
export function addIllCommands(program: Command, deps: IllCliDeps = defaultDeps): void {
  const group = program
    .command("ill")
    .description("interlibrary loan: borrow, lend and follow requests")
    .addHelpText("after", ILL_HELP);

  async function call<T>(config: string, fn: (c: StaffClient) => Promise<T>): Promise<T> {
    const { client, close } = deps.connect(config);
    try {
      return await fn(client);
    } finally {
      close();
    }
  }

  const printOutcome = (r: illServicePb.StaffRequest | undefined, json: boolean | undefined) => {
    if (!r) throw new Error("the node answered without the request");
    if (json) printJson(requestJson(r, true));
    else process.stdout.write(formatOutcome(r));
  };

  group
    .command("request")
    .description("ask to borrow a title (or a copy of part of it) from another library")
    .addOption(configOption())
    .option("--cluster <id>", 'a union catalog cluster id from search ("north-center:c42")')
    .option("--isbn <isbn>", "the ISBN (10 or 13 digits, hyphens allowed)")
    .option("--issn <issn>", "the ISSN (1234-5679)")
    .option("--title <title>", "the title, when there is no cluster id, ISBN or ISSN")
    .option("--author <author>", "the author (with --title)")
    .addOption(
      new Option("--type <type>", "what is wanted")
        .choices(["loan", "copy", "copy-or-loan"])
        .makeOptionMandatory(),
    )
    .option("--need-before <date>", "no use after this day (YYYY-MM-DD)")
    .option("--note <text>", "a note for the lender")
    .option(
      "--patron <id>",
      `the patron's id in this library ("${LIBRARY_PATRON}": the library's own use)`,
      LIBRARY_PATRON,
    )
    .option(
      "--max-cost <amount>",
      'the most the library pays, e.g. "10.00 EUR" (default: [ill] maximum_cost; lenders charging more are left out)',
    )
    .option("--rush", "service level Rush: faster, at the lenders' rush surcharge")
    .option(
      "--published <date>",
      "a copy: when the article appeared (2024 or 2024-05-01), for the copyright rule",
    )
    .option(
      "--compliance <code>",
      'a copy: the copyright compliance statement (default [copyright] compliance, "US:CCG")',
    )
    .option(
      "--article <fields>",
      `a copy of an article: ${ARTICLE_KEYS.map((k) => `${k}=`).join(";")} ("issn=0001-5180;title=…;pages=12-34")`,
    )
    .addOption(jsonOption())
    .addHelpText(
      "after",
      `
Give one of --cluster, --isbn, --issn or --title (they may be combined). The request is checked
for a duplicate (the same patron, the same title, within 30 days: it then waits in "review" for
"ill approve"), a copy against the copyright rule (over it, it waits in "review" too, or carries
the configured fee), its rota is built by the regional center (each lender with its charge; those
charging more than --max-cost are left out), and it goes to the first lender.

Examples:
  $ lrs-member ill request --config member.toml --cluster north-center:c42 --type loan
  $ lrs-member ill request --config member.toml --isbn 9780192827609 --type loan --patron P123 --need-before 2026-09-01
  $ lrs-member ill request --config member.toml --issn 0028-0836 --type copy --note "vol. 12, pp. 1-9"
  $ lrs-member ill request --config member.toml --title "Middlemarch" --author "Eliot" --type copy-or-loan
  $ lrs-member ill request --config member.toml --isbn 9780192827609 --type loan --max-cost "10.00 EUR" --rush
  $ lrs-member ill request --config member.toml --issn 0028-0836 --type copy --published 2024
  $ lrs-member ill request --config member.toml --type copy \\
      --article 'issn=0001-5180;journal=Acta anatomica;title=On the carpal bones;author=Smith, J.;volume=12;issue=3;pages=12-34;year=1998'

--article takes ${ARTICLE_KEYS.join(", ")} as key=value pairs separated by ";" (write a ";"
inside a value as "\\;"); it needs the journal (issn= or journal=) and the article (title=). The
lender scans the pages and uploads the file (ill upload-copy); this library downloads it (ill
download-copy) until [ill] copy_retention has passed.`,
    )
    .action(
      async (o: {
        config: string;
        cluster?: string;
        isbn?: string;
        issn?: string;
        title?: string;
        author?: string;
        type: string;
        needBefore?: string;
        note?: string;
        patron: string;
        maxCost?: string;
        rush?: boolean;
        published?: string;
        compliance?: string;
        article?: string;
        json?: boolean;
      }) => {
        const req = borrowRequest(o, deps.now());
        const res = await call(o.config, (c) => c.borrow(req, { timeoutMs: SLOW_MS }));
        printOutcome(res.request, o.json);
      },
    );

  group
    .command("report")
    .description("turnaround per status: how long requests stayed in each state, and how they ended")
    .addOption(configOption())
    .option("--since <duration>", 'requests created in this last period ("30d", "12h")', "30d")
    .addOption(
      new Option("--role <role>", "only borrowing or lending requests").choices(["borrower", "lender"]),
    )
    .addOption(jsonOption())
    .addHelpText(
      "after",
      `
From the requests' timelines (every transition is timestamped): for each state, how many stays in
it ended and how long they took (median, 90th percentile, longest), how many requests are in it
now; the requests by the state they are in; and the time from request to its end, by service type.
At most the latest 1000 requests are read.

Examples:
  $ lrs-member ill report --config member.toml
  $ lrs-member ill report --config member.toml --since 7d --role lender --json`,
    )
    .action(async (o: { config: string; since: string; role?: string; json?: boolean }) => {
      const ms = parseDuration(o.since);
      if (ms === undefined) throw new Error(`--since: "${o.since}" is not a duration such as "30d" or "12h"`);
      const res = await call(o.config, (c) =>
        c.listRequests({ role: o.role ?? "", status: "", limit: 1000 }, { timeoutMs: FAST_MS }),
      );
      const report = turnaround(res.requests, new Date(Date.now() - ms));
      if (o.json) return printJson(report);
      process.stdout.write(`${report.requests} request(s) created since ${report.since.toISOString()}\n`);
      if (report.requests === 0) return;
      process.stdout.write("\ntime in each state\n");
      printTable(
        report.states.map((t) => ({
          role: t.role,
          state: t.state,
          ended: String(t.count),
          median: t.count ? humanMs(t.p50Ms) : "-",
          p90: t.count ? humanMs(t.p90Ms) : "-",
          longest: t.count ? humanMs(t.maxMs) : "-",
          "in it now": String(t.current),
        })),
      );
      process.stdout.write("\nwhere they are now\n");
      printTable(report.outcomes.map((x) => ({ role: x.role, state: x.state, requests: String(x.count) })));
      if (report.endToEnd.length > 0) {
        process.stdout.write("\nrequest to its end\n");
        printTable(
          report.endToEnd.map((x) => ({
            role: x.role,
            type: x.type,
            ended: String(x.count),
            median: humanMs(x.p50Ms),
            p90: humanMs(x.p90Ms),
          })),
        );
      }
    });

  group
    .command("list")
    .description("list ILL requests, the latest first")
    .addOption(configOption())
    .addOption(
      new Option("--role <role>", "only borrowing or lending requests").choices(["borrower", "lender"]),
    )
    .option("--status <state>", 'only requests in this state ("new", "sent_to_supplier", "shipped", ...)')
    .option("--limit <n>", "at most this many (default 100)")
    .addOption(jsonOption())
    .addHelpText(
      "after",
      `
States: borrower ${ill.REQUESTER_STATES.join(", ")}
        lender   ${ill.SUPPLIER_STATES.join(", ")}

Examples:
  $ lrs-member ill list --config member.toml
  $ lrs-member ill list --config member.toml --role lender --status new --json`,
    )
    .action(async (o: { config: string; role?: string; status?: string; limit?: string; json?: boolean }) => {
      let limit = 0;
      if (o.limit !== undefined) {
        limit = Number(o.limit);
        if (!/^\d+$/.test(o.limit.trim()) || limit < 1)
          throw new Error(`--limit: "${o.limit}" is not a positive whole number`);
      }
      const res = await call(o.config, (c) =>
        c.listRequests({ role: o.role ?? "", status: o.status ?? "", limit }, { timeoutMs: FAST_MS }),
      );
      if (o.json) return printJson(res.requests.map((r) => requestJson(r, false)));
      if (res.requests.length === 0) {
        process.stdout.write("no ILL requests\n");
        return;
      }
      printTable(
        res.requests.map((r) => ({
          id: r.id,
          role: r.role,
          status: r.status,
          type: r.type,
          partner: r.partner || "-",
          title: truncate(titleLine(r), 40),
          updated: when(r.updatedAt),
        })),
      );
    });

  group
    .command("show")
    .description("everything about one request: rota, timeline, messages, timers, next actions")
    .addOption(configOption())
    .argument("<id>", "the request id (from ill list)")
    .addOption(jsonOption())
    .addHelpText("after", "\nExample:\n  $ lrs-member ill show --config member.toml 3f1c…")
    .action(async (id: string, o: { config: string; json?: boolean }) => {
      const res = await call(o.config, (c) => c.showRequest({ id }, { timeoutMs: FAST_MS }));
      if (!res.request) throw new Error("the node answered without the request");
      if (o.json) printJson(requestJson(res.request, true));
      else process.stdout.write(formatRequest(res.request));
    });

  group
    .command("respond")
    .description("lender: answer a request (yes, no, conditional, expect)")
    .addOption(configOption())
    .argument("<id>", "the lending request's id")
    .addArgument(
      new Argument(
        "<answer>",
        "yes (will supply), no (cannot: give --reason), conditional (on the conditions in --note), expect (expect to supply)",
      ).choices(RESPOND_ANSWERS),
    )
    .option("--reason <code>", `with no: an ISO 18626 reason (${REASON_CODES.join(", ")})`)
    .option("--note <text>", "a note for the borrower (the conditions, with conditional)")
    .addOption(jsonOption())
    .addHelpText(
      "after",
      `
Examples:
  $ lrs-member ill respond --config member.toml 3f1c… yes
  $ lrs-member ill respond --config member.toml 3f1c… no --reason NotOnShelf
  $ lrs-member ill respond --config member.toml 3f1c… conditional --note "in-library use only"`,
    )
    .action(
      async (
        id: string,
        answer: string,
        o: { config: string; reason?: string; note?: string; json?: boolean },
      ) => {
        if (o.reason !== undefined && answer !== "no") throw new Error("--reason goes with respond no");
        const reason = o.reason === undefined ? "" : reasonCode(o.reason);
        const res = await call(o.config, (c) =>
          c.act({ id, action: "respond", answer, reason, note: o.note ?? "" }, { timeoutMs: SLOW_MS }),
        );
        printOutcome(res.request, o.json);
      },
    );

  for (const spec of ACTIONS) {
    const who = spec.who === "both" ? "borrower or lender" : spec.who;
    const cmd = group
      .command(spec.verb)
      .description(`${who}: ${spec.what}`)
      .addOption(configOption())
      .argument("<id>", "the request id")
      .option("--note <text>", "a note for the other library");
    if (spec.due)
      cmd.option("--due <date>", "the due date (YYYY-MM-DD; default: the loan period from today)");
    if (spec.verb === "ship")
      cmd.addOption(
        new Option(
          "--as <what>",
          "for a copy-or-loan request: send the item or a copy (default loan)",
        ).choices(SHIP_AS),
      );
    if (spec.verb === "cancel")
      cmd.option("--reason <code>", "lender, when answering no: an ISO 18626 reason (NotOnShelf, ...)");
    cmd
      .addOption(jsonOption())
      .addHelpText(
        "after",
        `\nExample:\n  $ lrs-member ill ${spec.verb} --config member.toml 3f1c…${spec.example ? ` ${spec.example}` : ""}`,
      )
      .action(
        async (
          id: string,
          o: { config: string; note?: string; due?: string; as?: string; reason?: string; json?: boolean },
        ) => {
          const dueDate =
            o.due === undefined ? undefined : timestampFromDate(futureDay("--due", o.due, deps.now()));
          const reason = o.reason === undefined ? "" : reasonCode(o.reason);
          const res = await call(o.config, (c) =>
            c.act(
              { id, action: spec.verb, answer: o.as ?? "", reason, note: o.note ?? "", dueDate },
              { timeoutMs: SLOW_MS },
            ),
          );
          printOutcome(res.request, o.json);
        },
      );
  }

  group
    .command("auto-respond")
    .description("switch the automatic lending responder (without a mode: show the current one)")
    .addOption(configOption())
    .addArgument(
      new Argument(
        "[mode]",
        "off, availability (answer from the items and the lending policy) or scenario (tests)",
      ).choices(AUTO_RESPOND_MODES),
    )
    .addOption(jsonOption())
    .addHelpText(
      "after",
      `
The mode survives restarts. "scenario" is for tests: a token in the request's note chooses the answer.

Examples:
  $ lrs-member ill auto-respond --config member.toml availability
  $ lrs-member ill auto-respond --config member.toml`,
    )
    .action(async (mode: string | undefined, o: { config: string; json?: boolean }) => {
      const res = await call(o.config, (c) =>
        c.setAutoResponder({ mode: mode ?? "" }, { timeoutMs: FAST_MS }),
      );
      if (o.json) printJson({ mode: res.mode });
      else process.stdout.write(`automatic responder: ${res.mode}\n`);
    });
}

/** The BorrowRequest for `ill request`'s options, checked as far as the CLI can. */
export function borrowRequest(
  o: {
    cluster?: string | undefined;
    isbn?: string | undefined;
    issn?: string | undefined;
    title?: string | undefined;
    author?: string | undefined;
    type: string;
    needBefore?: string | undefined;
    note?: string | undefined;
    patron?: string | undefined;
    maxCost?: string | undefined;
    rush?: boolean | undefined;
    published?: string | undefined;
    compliance?: string | undefined;
    article?: string | undefined;
  },
  now: Date,
): illServicePb.BorrowRequest {
  // An article names the journal (the title), its ISSN and year; the rest is as for any request.
  if (o.article !== undefined)
    return articleRequest(o, o.article, (plain) => borrowRequest({ ...plain, article: undefined }, now));
  const serviceType = parseServiceType(o.type);
  if (serviceType === undefined) throw new Error(`--type: "${o.type}" is not loan, copy or copy-or-loan`);
  const cluster = o.cluster?.trim() ?? "";
  const title = o.title?.trim() ?? "";
  const itemIds: { bibliographicItemIdentifierCode: string; bibliographicItemIdentifier: string }[] = [];
  if (o.isbn !== undefined) {
    if (normalizeIsbn(o.isbn) === undefined)
      throw new Error(`--isbn: "${o.isbn}" is not a valid ISBN (10 or 13 digits with a correct check digit)`);
    itemIds.push({ bibliographicItemIdentifierCode: "ISBN", bibliographicItemIdentifier: o.isbn.trim() });
  }
  if (o.issn !== undefined) {
    if (normalizeIssn(o.issn) === undefined)
      throw new Error(`--issn: "${o.issn}" is not a valid ISSN (8 digits, e.g. 0028-0836)`);
    itemIds.push({ bibliographicItemIdentifierCode: "ISSN", bibliographicItemIdentifier: o.issn.trim() });
  }
  if (cluster === "" && title === "" && itemIds.length === 0)
    throw new Error("say what to borrow: --cluster ID, --isbn ISBN, --issn ISSN or --title TITLE");
  if (o.author !== undefined && title === "") throw new Error("--author goes with --title");
  const patron = o.patron?.trim() || LIBRARY_PATRON;
  let maximumCosts: { currencyCode: string; monetaryValue: string } | undefined;
  if (o.maxCost !== undefined) {
    try {
      maximumCosts = costsOf(parseMoney(o.maxCost));
    } catch (err) {
      throw new Error(`--max-cost: ${(err as Error).message}`);
    }
  }
  const copy = serviceType !== illPb.ServiceType.LOAN;
  if (o.published !== undefined && !copy)
    throw new Error("--published goes with a copy (--type copy or copy-or-loan)");
  if (o.compliance !== undefined && !copy)
    throw new Error("--compliance goes with a copy (--type copy or copy-or-loan)");
  if (o.published !== undefined && !/^\d{4}(-\d{2}(-\d{2})?)?$/.test(o.published.trim()))
    throw new Error(`--published: "${o.published}" is not a year or a date (2024, 2024-05 or 2024-05-01)`);
  return create(illServicePb.BorrowRequestSchema, {
    ...(maximumCosts ? { maximumCosts } : {}),
    serviceLevel: o.rush ? "Rush" : "",
    publicationDate: o.published?.trim() ?? "",
    copyrightCompliance: o.compliance?.trim() ?? "",
    clusterId: cluster,
    itemIds,
    title,
    author: o.author?.trim() ?? "",
    serviceType,
    needBefore:
      o.needBefore === undefined
        ? undefined
        : timestampFromDate(futureDay("--need-before", o.needBefore, now)),
    note: o.note?.trim() ?? "",
    patronId: patron,
  });
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}
