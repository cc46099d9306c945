// `lrs-member ill copyright`: the copyright rule's counts of the copies this library borrowed, per
// journal and year, against the limit. Calls the node's own CopyrightService.
import { type Client, createClient } from "@connectrpc/connect";
import {
  configOption,
  copyrightPb,
  loadConfig,
  printJson,
  printTable,
  selfTransport,
  Tier,
} from "@lrs/shared";
import { type Command, Option } from "commander";

type CopyrightClient = Client<typeof copyrightPb.CopyrightService>;

/** How the command reaches the node (tests hand in an in-memory transport). */
export interface CopyrightCliDeps {
  connect(configPath: string): { readonly client: CopyrightClient; close(): void };
}

const defaultDeps: CopyrightCliDeps = {
  connect(configPath) {
    const t = selfTransport(loadConfig(Tier.MEMBER, configPath));
    return { client: createClient(copyrightPb.CopyrightService, t.transport), close: () => t.close() };
  },
};

/** One journal and year as `--json` prints it. */
export interface CopyrightCountJson {
  journalKey: string;
  issn: string | null;
  title: string;
  year: number;
  count: number;
  pending: number;
  limit: number;
  overLimit: number;
  /** Copies the rule still allows this year (0 at or over the limit). */
  left: number;
}

export interface CopyrightJson {
  rule: string;
  compliance: string;
  limit: number;
  recentYears: number;
  overLimit: string;
  /** "10.00 EUR" with over_limit "fee"; null otherwise. */
  fee: string | null;
  keepYears: number;
  counts: CopyrightCountJson[];
}

export function copyrightJson(res: copyrightPb.ListCopyrightCountsResponse): CopyrightJson {
  return {
    rule: res.rule,
    compliance: res.compliance,
    limit: res.limit,
    recentYears: res.recentYears,
    overLimit: res.overLimit,
    fee: res.fee && res.fee.currencyCode !== "" ? `${res.fee.monetaryValue} ${res.fee.currencyCode}` : null,
    keepYears: res.keepYears,
    counts: res.counts.map((c) => ({
      journalKey: c.journalKey,
      issn: c.issn === "" ? null : c.issn,
      title: c.title,
      year: c.year,
      count: c.count,
      pending: c.pending,
      limit: c.limit,
      overLimit: c.overLimit,
      left: Math.max(0, c.limit - c.count - c.pending),
    })),
  };
}

/** A year as `--year` takes it. */
export function parseYear(text: string): number {
  const t = text.trim();
  if (!/^\d{4}$/.test(t)) throw new Error(`--year: "${text}" is not a year (four digits, e.g. 2026)`);
  return Number(t);
}

/** Adds `copyright` to the member's `ill` command group (made by addIllCommands). */
export function addCopyrightCommand(program: Command, deps: CopyrightCliDeps = defaultDeps): void {
  const group = program.commands.find((c) => c.name() === "ill");
  if (!group) throw new Error("add the ill commands first");
  group
    .command("copyright")
    .description("copies borrowed per journal and year, against the copyright rule")
    .addOption(configOption())
    .option("--year <yyyy>", "one calendar year (default: every year kept)")
    .addOption(new Option("--json", "print as JSON"))
    .addHelpText(
      "after",
      `
Every copy request carries the compliance statement of [copyright] compliance ("US:CCG": the
CONTU guidelines). Copies of articles published within [copyright] recent_years before the
request count, per journal (ISSN) and calendar year; one over max_per_title waits for staff
("review": lrs-member ill approve ID) or goes out with the fee ("fee"). A copy counts once it
goes out and no longer counts when it ends cancelled or unfilled. Counts are kept keep_years.

--json: {rule, compliance, limit, recentYears, overLimit, fee, keepYears,
         counts: [{journalKey, issn, title, year, count, pending, limit, overLimit, left}]}

Examples:
  $ lrs-member ill copyright --config member.toml
  $ lrs-member ill copyright --config member.toml --year 2026 --json`,
    )
    .action(async (o: { config: string; year?: string; json?: boolean }) => {
      const year = o.year === undefined ? 0 : parseYear(o.year);
      const { client, close } = deps.connect(o.config);
      let res: copyrightPb.ListCopyrightCountsResponse;
      try {
        res = await client.listCopyrightCounts({ year }, { timeoutMs: 10_000 });
      } finally {
        close();
      }
      const j = copyrightJson(res);
      if (o.json) return printJson(j);
      const fee = j.fee ? ` with a fee of ${j.fee}` : "";
      process.stdout.write(
        `copyright rule: ${j.rule}; over it a copy ${j.overLimit === "fee" ? `goes out${fee}` : "waits for staff review"}; counts kept ${j.keepYears} years\n`,
      );
      if (j.counts.length === 0) {
        process.stdout.write(`no copies counted${year ? ` in ${year}` : ""}\n`);
        return;
      }
      printTable(
        j.counts.map((c) => ({
          year: String(c.year),
          issn: c.issn ?? "-",
          title: c.title.length > 40 ? `${c.title.slice(0, 39)}…` : c.title || "-",
          counted: String(c.count),
          pending: String(c.pending),
          limit: String(c.limit),
          left: String(c.left),
          over: String(c.overLimit),
        })),
      );
    });
}
