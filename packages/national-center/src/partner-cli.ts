// `lrs-national partner add|list|show|remove`: external ILL partners (systems outside the
// federation that speak ISO 18626 XML) in the directory. The CLI asks its own node, which
// validates, stores and replicates them with the rest of the directory.
import { create, toJson } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import {
  configOption,
  directoryPb,
  formatAmount,
  gatewayPb,
  loadConfig,
  parseAmount,
  printJson,
  printTable,
  selfTransport,
  Tier,
} from "@lrs/shared";
import { type Command, Option } from "commander";

type ExternalPartner = directoryPb.ExternalPartner;
const { PartnerAuthMethod } = directoryPb;

const AUTH: Record<string, directoryPb.PartnerAuthMethod> = {
  account: PartnerAuthMethod.ACCOUNT,
  basic: PartnerAuthMethod.HTTP_BASIC,
  certificate: PartnerAuthMethod.CLIENT_CERTIFICATE,
  none: PartnerAuthMethod.UNSPECIFIED,
};

function authName(m: directoryPb.PartnerAuthMethod): string {
  return Object.entries(AUTH).find(([, v]) => v === m)?.[0] ?? "none";
}

/** "loan,copy" → which of the two. */
function services(text: string | undefined, option: string): { loan: boolean; copy: boolean } {
  const words = (text ?? "")
    .split(",")
    .map((w) => w.trim())
    .filter(Boolean);
  for (const w of words)
    if (w !== "loan" && w !== "copy") throw new Error(`${option}: "${w}" is not loan or copy`);
  return { loan: words.includes("loan"), copy: words.includes("copy") };
}

async function withPartners<T>(
  config: string,
  fn: (c: ReturnType<typeof createClient<typeof gatewayPb.PartnerAdminService>>) => Promise<T>,
): Promise<T> {
  const t = selfTransport(loadConfig(Tier.NATIONAL, config));
  try {
    return await fn(createClient(gatewayPb.PartnerAdminService, t.transport));
  } finally {
    t.close();
  }
}

/** What `partner show` prints for people. */
export function partnerText(p: ExternalPartner): string {
  const offered =
    [p.lendsLoans && "loans", p.suppliesCopies && "copies"].filter(Boolean).join(", ") || "nothing";
  const taken =
    [p.borrowsLoans && "loans", p.borrowsCopies && "copies"].filter(Boolean).join(", ") || "nothing";
  const fees = p.fees?.currency
    ? `loan ${formatAmount(p.fees.loanMinor, p.fees.currency)} ${p.fees.currency}, copy ${formatAmount(p.fees.copyMinor, p.fees.currency)} ${p.fees.currency}`
    : "none";
  const lines = [
    `${p.id}: ${p.name}`,
    `  agency id      ${p.agencyIdType}:${p.agencyIdValue}`,
    `  endpoint       ${p.endpointUrl} (ISO 18626 ${p.schemaVersion})`,
    `  it signs in    ${authName(p.inboundAuth)}${p.inboundAccount ? ` as ${p.inboundAccount}` : ""}`,
    `  we sign in     ${authName(p.outboundAuth)}${p.outboundAccount ? ` as ${p.outboundAccount}` : ""}`,
    `  may borrow     ${p.mayBorrow ? `yes (${taken})` : "no"}`,
    `  may lend       ${p.mayLend ? `yes (${offered})` : "no"}`,
    `  fees           ${fees}`,
    `  updated        ${p.updatedAt ? timestampDate(p.updatedAt).toISOString() : "-"}`,
  ];
  return `${lines.join("\n")}\n`;
}

const ADD_HELP = `
Adds an ILL system outside the federation, or replaces the entry of one already added (same id).
The partner reaches the gateway with its agency id in the message header and proves who it is
with --auth: "account" (requestingAgencyAuthentication accountId/securityCode in the header),
"basic" (HTTP basic) or "certificate" (a TLS client certificate; --secret is its SHA-256
fingerprint). Its secret is kept only as a salted scrypt, at the centers. --our-auth says how LRS signs in at the
partner; that secret stays at the national center and is not replicated.

Example:
  lrs-national partner add -c national.toml --id princeton --name "Princeton University Library" \\
    --agency ISIL:US-NjP --url https://ill.example.edu/iso18626 --schema 2021-2 \\
    --auth account --account princeton --secret S3CRET --lends loan,copy --borrows loan \\
    --currency USD --loan-fee 12.00
`;

export function addPartnerCommands(program: Command): void {
  const partner = program
    .command("partner")
    .description("external ILL partners (ISO 18626 XML) in the directory");

  partner
    .command("add")
    .description("add or replace an external ILL partner")
    .addHelpText("after", ADD_HELP)
    .addOption(configOption())
    .requiredOption("--id <id>", "the federation's handle for the partner")
    .requiredOption("--name <name>", "the library or system's name")
    .requiredOption("--agency <type:value>", "its ISO 18626 agency id, e.g. ISIL:US-NjP or OCLC:PUL")
    .requiredOption("--url <url>", "where the gateway POSTs ISO 18626 XML to it")
    .addOption(
      new Option("--schema <version>", "the ISO 18626 schema it speaks")
        .choices(["2021-2", "1.2"])
        .default("2021-2"),
    )
    .addOption(
      new Option("--auth <method>", "how it proves itself to LRS")
        .choices(["account", "basic", "certificate"])
        .makeOptionMandatory(),
    )
    .option("--account <id>", "its account id (account) or user name (basic)")
    .option(
      "--secret <text>",
      "its security code or password; its certificate's SHA-256 fingerprint (certificate)",
    )
    .addOption(
      new Option("--our-auth <method>", "how LRS proves itself to it")
        .choices(["account", "basic", "none"])
        .default("none"),
    )
    .option("--our-account <id>", "LRS's account id or user name at the partner")
    .option("--our-secret <text>", "LRS's security code or password at the partner (kept here only)")
    .option("--lends <services>", "what it lends LRS members: loan, copy or loan,copy", "")
    .option("--borrows <services>", "what it borrows from LRS members: loan, copy or loan,copy", "")
    .option("--currency <code>", "ISO 4217 currency of its fees")
    .option("--loan-fee <amount>", "what it charges for a loan", "0")
    .option("--copy-fee <amount>", "what it charges for a copy", "0")
    .option("--json", "print as JSON")
    .action(
      async (o: {
        config: string;
        id: string;
        name: string;
        agency: string;
        url: string;
        schema: string;
        auth: string;
        account?: string;
        secret?: string;
        ourAuth: string;
        ourAccount?: string;
        ourSecret?: string;
        lends: string;
        borrows: string;
        currency?: string;
        loanFee: string;
        copyFee: string;
        json?: boolean;
      }) => {
        const colon = o.agency.indexOf(":");
        if (colon <= 0 || colon === o.agency.length - 1)
          throw new Error(`--agency "${o.agency}" is not TYPE:VALUE (e.g. ISIL:US-NjP)`);
        const lends = services(o.lends, "--lends");
        const borrows = services(o.borrows, "--borrows");
        const currency = o.currency?.toUpperCase() ?? "";
        const fee = (text: string, option: string) => {
          if (Number(text) === 0) return 0n;
          if (!currency) throw new Error(`${option} needs --currency`);
          return parseAmount(text, currency);
        };
        const p = create(directoryPb.ExternalPartnerSchema, {
          id: o.id,
          name: o.name,
          agencyIdType: o.agency.slice(0, colon),
          agencyIdValue: o.agency.slice(colon + 1),
          endpointUrl: o.url,
          schemaVersion: o.schema,
          inboundAuth: AUTH[o.auth] ?? PartnerAuthMethod.UNSPECIFIED,
          inboundAccount: o.account ?? "",
          outboundAuth: AUTH[o.ourAuth] ?? PartnerAuthMethod.UNSPECIFIED,
          outboundAccount: o.ourAccount ?? "",
          lendsLoans: lends.loan,
          suppliesCopies: lends.copy,
          borrowsLoans: borrows.loan,
          borrowsCopies: borrows.copy,
          mayLend: lends.loan || lends.copy,
          mayBorrow: borrows.loan || borrows.copy,
          fees: {
            currency,
            loanMinor: fee(o.loanFee, "--loan-fee"),
            copyMinor: fee(o.copyFee, "--copy-fee"),
          },
        });
        const res = await withPartners(o.config, (c) =>
          c.putPartner(
            { partner: p, inboundSecret: o.secret ?? "", outboundSecret: o.ourSecret ?? "" },
            { timeoutMs: 10_000 },
          ),
        );
        if (o.json) return printJson(toJson(gatewayPb.PutPartnerResponseSchema, res));
        process.stdout.write(
          `${res.changed ? "saved" : "unchanged"}: partner ${o.id}; directory version ${res.directoryVersion}\n`,
        );
      },
    );

  partner
    .command("list")
    .description("list external ILL partners")
    .addOption(configOption())
    .option("--json", "print as JSON")
    .action(async (o: { config: string; json?: boolean }) => {
      const res = await withPartners(o.config, (c) => c.listPartners({}, { timeoutMs: 10_000 }));
      if (o.json)
        return printJson({
          ...(toJson(gatewayPb.ListPartnersResponseSchema, res) as object),
          partnersOutOfRotas: res.partnersOutOfRotas,
        });
      process.stdout.write(
        res.partnersOutOfRotas
          ? "in rotas: no — kept out of every rota (national [iso18626] partners_in_rota = false)\n"
          : "in rotas: yes — last resort after LRS holders, in regions whose [iso18626] partners_in_rota allows it\n",
      );
      if (res.partners.length === 0) return void process.stdout.write("no external partners\n");
      printTable(
        res.partners.map((p) => ({
          id: p.id,
          agency: `${p.agencyIdType}:${p.agencyIdValue}`,
          borrows: p.mayBorrow ? "yes" : "no",
          lends: p.mayLend ? "yes" : "no",
          schema: p.schemaVersion,
          endpoint: p.endpointUrl,
          name: p.name,
        })),
      );
    });

  partner
    .command("show")
    .description("show one external ILL partner")
    .addOption(configOption())
    .argument("<id>")
    .option("--json", "print as JSON")
    .action(async (id: string, o: { config: string; json?: boolean }) => {
      const res = await withPartners(o.config, (c) => c.listPartners({}, { timeoutMs: 10_000 }));
      const p = res.partners.find((x) => x.id === id);
      if (!p) throw new Error(`no external partner "${id}"`);
      if (o.json) return printJson(toJson(directoryPb.ExternalPartnerSchema, p));
      process.stdout.write(partnerText(p));
    });

  partner
    .command("remove")
    .description("remove an external ILL partner; the gateway refuses it from then on")
    .addOption(configOption())
    .argument("<id>")
    .option("--json", "print as JSON")
    .action(async (id: string, o: { config: string; json?: boolean }) => {
      const res = await withPartners(o.config, (c) => c.removePartner({ id }, { timeoutMs: 10_000 }));
      if (o.json) return printJson(toJson(gatewayPb.RemovePartnerResponseSchema, res));
      process.stdout.write(`removed partner ${id}; directory version ${res.directoryVersion}\n`);
    });
}
