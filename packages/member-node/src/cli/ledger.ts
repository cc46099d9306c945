// `lrs-member ledger`: this library's statement for a period — what it owes other institutions
// and is owed by them for interlibrary loans and copies. The national center keeps the
// federation's ledger; the CLI asks the member's regional center with the member's own
// certificate (as `copy-record` does), and the regional center asks the national center.
import { toJson } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import {
  configOption,
  isCurrency,
  ledgerPb,
  loadConfig,
  parentTransport,
  parsePeriod,
  printJson,
  statementsCsv,
  statementText,
  Tier,
  writeFileAtomic,
} from "@lrs/shared";
import type { Command } from "commander";

type LedgerClient = Client<typeof ledgerPb.LedgerService>;

const TIMEOUT_MS = 30_000;

const HELP = `
Amounts are in each currency's major unit (12.50); net is what the library is owed (negative: what
it owes). An open period's statement can still change as charges arrive; a settled one is final.

Examples:
  lrs-member ledger --config member.toml --period 2026-11
  lrs-member ledger --config member.toml --period 2026-11 --json
  lrs-member ledger --config member.toml --period 2026-10 --currency EUR --csv statement.csv`;

/** How the command reaches the regional center (tests hand in their own). */
export interface LedgerCliDeps {
  connect(configPath: string): { readonly client: LedgerClient; close(): void };
}

const defaultDeps: LedgerCliDeps = {
  connect(configPath) {
    const cfg = loadConfig(Tier.MEMBER, configPath);
    const t = parentTransport(cfg);
    return { client: createClient(ledgerPb.LedgerService, t.transport), close: () => t.close() };
  },
};

/**
 * The member's statements for a period: the one asked for, or (without a currency) one per
 * currency it has entries in.
 */
export async function fetchStatements(
  client: LedgerClient,
  period: string,
  currency: string,
): Promise<{ settled: boolean; statements: ledgerPb.Statement[] }> {
  const first = await client.getStatement({ period, currency }, { timeoutMs: TIMEOUT_MS });
  const all = [first];
  if (!currency)
    for (const c of first.currencies.filter((c) => c !== first.statement?.currency))
      all.push(await client.getStatement({ period, currency: c }, { timeoutMs: TIMEOUT_MS }));
  return { settled: first.settled, statements: all.flatMap((r) => (r.statement ? [r.statement] : [])) };
}

export function addLedgerCommand(program: Command, deps: LedgerCliDeps = defaultDeps): void {
  program
    .command("ledger")
    .description("this library's statement for a period: owed and owing, per institution")
    .addOption(configOption())
    .requiredOption("-p, --period <YYYY-MM>", "the month, e.g. 2026-11")
    .option("--currency <code>", "only this currency (ISO 4217)")
    .option("--csv <file>", "also write the statement as CSV")
    .option("--json", "print as JSON")
    .addHelpText("after", HELP)
    .action(
      async (o: { config: string; period: string; currency?: string; csv?: string; json?: boolean }) => {
        const period = parsePeriod(o.period, "--period");
        const currency = o.currency?.trim().toUpperCase() ?? "";
        if (o.currency !== undefined && !isCurrency(currency))
          throw new Error(`--currency "${o.currency}" is not an ISO 4217 code (e.g. EUR)`);
        const c = deps.connect(o.config);
        let res: Awaited<ReturnType<typeof fetchStatements>>;
        try {
          res = await fetchStatements(c.client, period, currency);
        } finally {
          c.close();
        }
        if (o.csv) writeFileAtomic(o.csv, statementsCsv(res.statements));
        if (o.json) {
          printJson({
            period,
            settled: res.settled,
            statements: res.statements.map((s) => toJson(ledgerPb.StatementSchema, s)),
          });
          return;
        }
        const status = res.settled ? "settled" : "open (not settled yet)";
        for (const st of res.statements) process.stdout.write(statementText(st, status));
      },
    );
}
