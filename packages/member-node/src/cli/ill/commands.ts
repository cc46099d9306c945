import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Client, createClient } from "@connectrpc/connect";
import {
  AUTO_RESPOND_MODES,
  configOption,
  ill,
  illServicePb,
  loadConfig,
  parseDuration,
  printJson,
  selfTransport,
  Tier,
} from "@lrs/shared";
import { Argument, type Command, Option } from "commander";
import { ARTICLE_KEYS } from "../../ill/article.js";
import { turnaround } from "../../ill/report.js";
import { BORROWER_VERBS, LIBRARY_PATRON, RESPOND_ANSWERS, SHIP_AS } from "../../services/ill-staff.js";
import { borrowRequest, futureDay, REASON_CODES, reasonCode } from "./arguments.js";
import { formatOutcome, formatRequest, printReport, printRequestList } from "./format.js";
import { requestJson } from "./json.js";

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

const jsonOption = () => new Option("--json", "print as JSON (see the shape in ill --help)");

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
      printReport(report);
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
      printRequestList(res.requests);
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
      cmd.option(
        "--barcode <barcode>",
        "the copy sent (one of this library's copies of the title): NCIP CheckOutItem checks it out, the label shows it",
      );
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
          o: {
            config: string;
            note?: string;
            due?: string;
            as?: string;
            reason?: string;
            barcode?: string;
            json?: boolean;
          },
        ) => {
          const dueDate =
            o.due === undefined ? undefined : timestampFromDate(futureDay("--due", o.due, deps.now()));
          const reason = o.reason === undefined ? "" : reasonCode(o.reason);
          const res = await call(o.config, (c) =>
            c.act(
              {
                id,
                action: spec.verb,
                answer: o.as ?? "",
                reason,
                note: o.note ?? "",
                dueDate,
                itemBarcode: o.barcode ?? "",
              },
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
