// `lrs-national settle` and `lrs-national ledger`: the national center's own CLI asks its node
// (LedgerService over mTLS with the node's certificate), which does the work in its database.
import { toJson } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import {
  configOption,
  formatAmount,
  isCurrency,
  ledgerPb,
  loadConfig,
  parsePeriod,
  printJson,
  regionsText,
  selfTransport,
  statementsCsv,
  statementText,
  Tier,
  writeFileAtomic,
} from "@lrs/shared";
import type { Command } from "commander";

/** Settling a million entries takes seconds; the CLI waits far longer before giving up. */
const SETTLE_TIMEOUT_MS = 30 * 60_000;
const READ_TIMEOUT_MS = 5 * 60_000;

const SETTLE_HELP = `
Nets every institution's charges and reversals of the period against each counterparty (one
statement per institution and currency, a line per counterparty) and each region against the rest
of the federation, and stores them with the period's settled flag in one transaction. Settling a
period again prints the same statements and digest ("settled before").

A posting that reaches the national center after its period was settled is not lost and does not
change the settled statements: it is counted in the next open period, and listed there as carried
in. A reversal whose original charge has not arrived yet is held (listed, in no statement) until it
does.

A period whose month has not ended is refused unless --allow-open is given.

Examples:
  lrs-national settle --config national.toml --period 2026-10
  lrs-national settle --config national.toml --period 2026-10 --csv statements-2026-10.csv
  lrs-national settle --config national.toml --period 2026-11 --allow-open --json`;

const LEDGER_HELP = `
Without --institution: every statement of the period as settling would make it (nothing is stored),
or as it was settled. With --institution: that institution's statement, in each of its currencies.

Examples:
  lrs-national ledger --config national.toml --period 2026-11
  lrs-national ledger --config national.toml --period 2026-11 --institution north-univ --json
  lrs-national ledger --config national.toml --period 2026-11 --csv open-2026-11.csv`;

/**
 * A "still working" note on stderr while the node settles: a ticking line on a terminal, one line
 * otherwise (logs and pipes want no carriage returns).
 */
function waiting(label: string): () => void {
  const started = Date.now();
  if (!process.stderr.isTTY) {
    process.stderr.write(`${label}…\n`);
    return () => {};
  }
  const tick = () => process.stderr.write(`\r${label}… ${Math.round((Date.now() - started) / 1000)} s`);
  tick();
  const timer = setInterval(tick, 1000);
  return () => {
    clearInterval(timer);
    process.stderr.write("\r\x1b[K");
  };
}

function when(t: Timestamp | undefined): string {
  return t ? timestampDate(t).toISOString() : "";
}

/** A settlement (or a dry run) for people: a heading, a statement per institution, regions, what was left out. */
export function settlementText(res: ledgerPb.SettleResponse): string {
  const out: string[] = [];
  const status = res.dryRun ? "open (not settled)" : "settled";
  const head = res.dryRun
    ? `${res.period}: not settled; as it stands: ${res.entries} entries, ${res.statements.length} statements; digest if settled now ${res.digest}`
    : `${res.period}: ${res.alreadySettled ? "settled before" : "settled"} at ${when(res.settledAt)}: ${res.entries} entries, ${res.statements.length} statements; digest ${res.digest}`;
  out.push(`${head}\n`);
  for (const st of res.statements) out.push(`\n${statementText(st, status)}`);
  if (res.regions.length > 0)
    out.push(`\nregions (net against the rest of the federation)\n${regionsText(res.regions)}`);
  if (res.carriedIn.length > 0) {
    out.push(`\ncarried in from periods settled before they arrived: ${res.carriedIn.length}\n`);
    for (const p of res.carriedIn)
      out.push(
        `  ${p.entryId} (${p.period}) ${p.kind} ${p.payerId} → ${p.payeeId} ${formatAmount(p.amountMinor, p.currency)} ${p.currency}\n`,
      );
  }
  if (res.held.length > 0) {
    out.push(`\nheld, in no statement: ${res.held.length}\n`);
    for (const h of res.held)
      out.push(`  ${h.posting?.entryId ?? "?"} (${h.posting?.period ?? "?"}): ${h.reason}\n`);
  }
  return out.join("");
}

function writeCsv(file: string, statements: readonly ledgerPb.Statement[]): void {
  writeFileAtomic(file, statementsCsv(statements));
  process.stderr.write(`wrote ${statements.reduce((n, s) => n + s.lines.length, 0)} lines to ${file}\n`);
}

function checkCurrency(c: string | undefined): string {
  if (c === undefined) return "";
  const code = c.trim().toUpperCase();
  if (!isCurrency(code)) throw new Error(`--currency "${c}" is not an ISO 4217 code (e.g. EUR)`);
  return code;
}

export function addLedgerCommands(program: Command): void {
  program
    .command("settle")
    .description("settle a period: statements per institution and region, stored for good")
    .addOption(configOption())
    .requiredOption("-p, --period <YYYY-MM>", "the month to settle, e.g. 2026-11")
    .option("--csv <file>", "also write the statements as CSV (one line per institution and counterparty)")
    .option("--allow-open", "settle a month that has not ended yet")
    .option("--json", "print as JSON")
    .addHelpText("after", SETTLE_HELP)
    .action(
      async (o: { config: string; period: string; csv?: string; allowOpen?: boolean; json?: boolean }) => {
        const period = parsePeriod(o.period, "--period");
        const cfg = loadConfig(Tier.NATIONAL, o.config);
        const t = selfTransport(cfg);
        const done = waiting(`settling ${period} at ${cfg.id}`);
        let res: ledgerPb.SettleResponse;
        try {
          res = await createClient(ledgerPb.LedgerService, t.transport).settle(
            { period, allowOpenPeriod: o.allowOpen === true },
            { timeoutMs: SETTLE_TIMEOUT_MS },
          );
        } finally {
          done();
          t.close();
        }
        if (o.csv) writeCsv(o.csv, res.statements);
        if (o.json) printJson(toJson(ledgerPb.SettleResponseSchema, res));
        else process.stdout.write(settlementText(res));
      },
    );

  program
    .command("ledger")
    .description("show a period's statements without settling it")
    .addOption(configOption())
    .requiredOption("-p, --period <YYYY-MM>", "the month, e.g. 2026-11")
    .option("-i, --institution <id>", "only this institution's statement")
    .option("--currency <code>", "with --institution: only this currency")
    .option("--csv <file>", "also write the statements as CSV")
    .option("--json", "print as JSON")
    .addHelpText("after", LEDGER_HELP)
    .action(
      async (o: {
        config: string;
        period: string;
        institution?: string;
        currency?: string;
        csv?: string;
        json?: boolean;
      }) => {
        const period = parsePeriod(o.period, "--period");
        const currency = checkCurrency(o.currency);
        if (currency && !o.institution) throw new Error("--currency goes with --institution");
        const cfg = loadConfig(Tier.NATIONAL, o.config);
        const t = selfTransport(cfg);
        try {
          const client = createClient(ledgerPb.LedgerService, t.transport);
          if (!o.institution) {
            const done = waiting(`computing the statements of ${period} at ${cfg.id}`);
            let res: ledgerPb.SettleResponse;
            try {
              res = await client.settle({ period, dryRun: true }, { timeoutMs: READ_TIMEOUT_MS });
            } finally {
              done();
            }
            if (o.csv) writeCsv(o.csv, res.statements);
            if (o.json) printJson(toJson(ledgerPb.SettleResponseSchema, res));
            else process.stdout.write(settlementText(res));
            return;
          }
          const institutionId = o.institution;
          const first = await client.getStatement(
            { institutionId, period, currency },
            { timeoutMs: READ_TIMEOUT_MS },
          );
          const all = [first];
          if (!currency)
            for (const c of first.currencies.filter((c) => c !== first.statement?.currency))
              all.push(
                await client.getStatement(
                  { institutionId, period, currency: c },
                  { timeoutMs: READ_TIMEOUT_MS },
                ),
              );
          const statements = all.flatMap((r) => (r.statement ? [r.statement] : []));
          if (o.csv) writeCsv(o.csv, statements);
          if (o.json)
            printJson({
              period,
              institutionId,
              settled: first.settled,
              statements: statements.map((s) => toJson(ledgerPb.StatementSchema, s)),
            });
          else
            for (const st of statements)
              process.stdout.write(statementText(st, first.settled ? "settled" : "open (not settled)"));
        } finally {
          t.close();
        }
      },
    );
}
