// `lrs-member visit`: reciprocal borrowing at the desk. The home library issues and blocks its
// readers' credentials; the visited library checks them, lends and takes returns (also of other
// libraries' items, shipped back to their owners). Calls the node's own VisitStaffService.
import { writeFileSync } from "node:fs";
import { toJson } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type Client, createClient } from "@connectrpc/connect";
import { configOption, loadConfig, printJson, printTable, selfTransport, Tier, visitPb } from "@lrs/shared";
import { type Command, Option } from "commander";
import QRCode from "qrcode";

type VisitClient = Client<typeof visitPb.VisitStaffService>;

/** How the commands reach the node (tests hand in an in-memory transport). */
export interface VisitCliDeps {
  connect(configPath: string): { readonly client: VisitClient; close(): void };
}

const defaultDeps: VisitCliDeps = {
  connect(configPath) {
    const t = selfTransport(loadConfig(Tier.MEMBER, configPath));
    return { client: createClient(visitPb.VisitStaffService, t.transport), close: () => t.close() };
  },
};

const TIMEOUT_MS = 30_000;

async function withClient<T>(
  deps: VisitCliDeps,
  config: string,
  fn: (c: VisitClient) => Promise<T>,
): Promise<T> {
  const { client, close } = deps.connect(config);
  try {
    return await fn(client);
  } finally {
    close();
  }
}

const day = (t?: { seconds: bigint; nanos: number }) =>
  t
    ? timestampDate(t as never)
        .toISOString()
        .slice(0, 10)
    : "-";

/** The QR code of a credential's token: for the terminal, or as an SVG or PNG file. */
export async function renderQr(
  token: string,
  format: "terminal" | "svg" | "png",
  out?: string,
): Promise<string> {
  if (format === "png") {
    if (!out) throw new Error("--qr png needs --out FILE");
    await QRCode.toFile(out, token, { type: "png", errorCorrectionLevel: "M" });
    return out;
  }
  const text = await QRCode.toString(token, {
    type: format,
    errorCorrectionLevel: "M",
    ...(format === "terminal" ? { small: true } : {}),
  });
  if (out) {
    writeFileSync(out, text);
    return out;
  }
  return text;
}

function printLoans(loans: visitPb.VisitLoan[], empty: string): void {
  if (loans.length === 0) {
    process.stdout.write(`${empty}\n`);
    return;
  }
  printTable(
    loans.map((l) => ({
      loan: l.loanId,
      state: l.state,
      home: l.homeAgencyId || "-",
      owner: l.ownerAgencyId,
      item: l.itemBarcode || "-",
      title: l.title.length > 32 ? `${l.title.slice(0, 31)}…` : l.title || "-",
      due: day(l.dueAt),
      returnedAt: l.returnedAtAgencyId || "-",
      shipment: l.shipmentId || "-",
    })),
  );
}

function printCheck(c: visitPb.CheckCredentialResponse): void {
  const b = c.body;
  process.stdout.write(
    `${c.mayBorrow ? "may borrow" : "may NOT borrow"} (${c.online ? "checked with the home library" : "checked offline"})\n`,
  );
  if (b)
    process.stdout.write(
      `  home ${b.homeAgencyId}, reader ${b.readerId}, credential ${b.credentialId}, expires ${day(b.expiresAt)}; signature ${c.signatureValid ? "good" : "NOT good"}\n`,
    );
  process.stdout.write(
    `  standing at home: ${visitPb.VisitStanding[c.standing] ?? "?"}${c.blockReason ? ` (${c.blockReason})` : ""}; on loan anywhere ${c.online ? c.loansOut : "?"}, here ${c.loansHere} of ${c.maxLoansHere}; loan period ${c.loanPeriodDays} days\n`,
  );
  for (const r of c.reasons) process.stdout.write(`  - ${r}\n`);
}

/** Fails the command (non-zero exit) after printing, when a check says no. */
function failUnless(ok: boolean, why: string): void {
  if (!ok) throw new Error(why);
}

export function addVisitCommands(program: Command, deps: VisitCliDeps = defaultDeps): void {
  const group = program
    .command("visit")
    .description("reciprocal borrowing: visiting-reader credentials, loans to visitors, returns anywhere")
    .addHelpText(
      "after",
      `
A reader borrows in person at another member with a credential signed by the home library (a
QR code, or a short code typed at the desk). The visited library checks it online through the
regional (and national) centers with the home library, or offline against the keys and block
lists the directory publishes; it never learns who the reader is. Loans, returns and overdues
are told to the home library; an item returned at a third library goes back to its owner as a
shipment.

Examples:
  home:    $ lrs-member visit issue --config m.toml --reader P12345 --qr svg --out card.svg
  visited: $ lrs-member visit check --config m.toml NORTH-A-7K3F9-0QXM2
           $ lrs-member visit lend --config m.toml --credential "LRSV1...." --item 31234000123
  any:     $ lrs-member visit return --config m.toml south-a:7K3F90QXM2
  owner:   $ lrs-member visit receive --config m.toml north-b:S0123456789
  home:    $ lrs-member visit block --config m.toml --reader P12345 --reason overdue`,
    );

  group
    .command("issue")
    .description("issue a visiting-reader credential to one of this library's readers")
    .addOption(configOption())
    .requiredOption(
      "--reader <ref>",
      "this library's reference for the reader (a patron barcode; never sent)",
    )
    .option(
      "--max-loans <n>",
      "items on loan at once, everywhere (default [lending_policy.visiting] max_loans)",
    )
    .option("--types <list>", "material types the reader may borrow, comma-separated (default: any)")
    .option("--days <n>", "days until it expires (default [lending_policy.visiting] credential_days)")
    .addOption(
      new Option("--qr <format>", "QR code of the credential")
        .choices(["terminal", "svg", "png", "none"])
        .default("terminal"),
    )
    .option("--out <file>", "write the QR code to this file")
    .addOption(new Option("--json", "print as JSON"))
    .addHelpText("after", "\n--json: {body, token, shortCode, readerId, qrFile}")
    .action(
      async (o: {
        config: string;
        reader: string;
        maxLoans?: string;
        types?: string;
        days?: string;
        qr: string;
        out?: string;
        json?: boolean;
      }) => {
        const res = await withClient(deps, o.config, (c) =>
          c.issueCredential(
            {
              readerRef: o.reader,
              maxLoans: o.maxLoans ? positive("--max-loans", o.maxLoans) : 0,
              materialTypes: o.types
                ? o.types
                    .split(",")
                    .map((t) => t.trim())
                    .filter((t) => t !== "")
                : [],
              validDays: o.days ? positive("--days", o.days) : 0,
            },
            { timeoutMs: TIMEOUT_MS },
          ),
        );
        const qr =
          o.qr === "none" || (o.json && !o.out)
            ? undefined
            : await renderQr(res.token, o.qr as "terminal" | "svg" | "png", o.out);
        if (o.json)
          return printJson({
            ...(toJson(visitPb.IssueCredentialResponseSchema, res) as object),
            qrFile: o.out ?? null,
          });
        const b = res.body!;
        process.stdout.write(
          `credential ${b.credentialId} for reader ${res.readerId} (pseudonym), expires ${day(b.expiresAt)}, up to ${b.privileges?.maxLoans} items\nshort code: ${res.shortCode}\ntoken: ${res.token}\n`,
        );
        if (qr && !o.out) process.stdout.write(qr);
        else if (qr) process.stdout.write(`QR code written to ${qr}\n`);
      },
    );

  group
    .command("block")
    .description("block (or --unblock) a credential, or every credential of a reader, at every library")
    .addOption(configOption())
    .option("--credential <id>", "a credential id or short code")
    .option("--reader <ref>", "this library's reference for the reader")
    .option("--reason <why>", '"overdue", "lost", "left", ...')
    .option("--unblock", "lift the block")
    .addOption(new Option("--json", "print as JSON"))
    .action(
      async (o: {
        config: string;
        credential?: string;
        reader?: string;
        reason?: string;
        unblock?: boolean;
        json?: boolean;
      }) => {
        const res = await withClient(deps, o.config, (c) =>
          c.blockCredential(
            {
              credentialId: o.credential ?? "",
              readerRef: o.reader ?? "",
              reason: o.reason ?? "",
              unblock: o.unblock ?? false,
            },
            { timeoutMs: TIMEOUT_MS },
          ),
        );
        if (o.json) return printJson({ credentialIds: res.credentialIds, blocked: !o.unblock });
        process.stdout.write(`${o.unblock ? "unblocked" : "blocked"}: ${res.credentialIds.join(", ")}\n`);
      },
    );

  group
    .command("rotate-key")
    .description(
      "sign credentials with a new key from now on; the directory keeps the older keys until the credentials they signed expire",
    )
    .addOption(configOption())
    .addOption(new Option("--json", "print as JSON"))
    .action(async (o: { config: string; json?: boolean }) => {
      const res = await withClient(deps, o.config, (c) => c.rotateSigningKey({}, { timeoutMs: TIMEOUT_MS }));
      if (o.json) return printJson(toJson(visitPb.RotateSigningKeyResponseSchema, res));
      const until = res.olderKeysUntil ? timestampDate(res.olderKeysUntil).toISOString() : undefined;
      process.stdout.write(
        `new signing key ${res.key?.keyId}; published: ${res.published.map((k) => k.keyId).join(", ")}${
          until ? `; older keys published until ${until}, when the last credential they signed expires` : ""
        }\n`,
      );
    });

  group
    .command("check")
    .description(
      "check a visiting reader's credential (token or short code); exits 1 when the reader may not borrow",
    )
    .addOption(configOption())
    .argument("<credential>", "the QR code's token (LRSV1.…) or the short code")
    .option("--offline", "do not ask the home library (the directory's keys and block list only)")
    .addOption(new Option("--json", "print as JSON"))
    .action(async (credential: string, o: { config: string; offline?: boolean; json?: boolean }) => {
      const res = await withClient(deps, o.config, (c) =>
        c.checkCredential({ credential, offline: o.offline ?? false }, { timeoutMs: TIMEOUT_MS }),
      );
      if (o.json) printJson(toJson(visitPb.CheckCredentialResponseSchema, res, { alwaysEmitImplicit: true }));
      else printCheck(res);
      failUnless(res.mayBorrow, `the reader may not borrow here: ${res.reasons.join("; ")}`);
    });

  group
    .command("lend")
    .description("lend one of this library's items to a visiting reader (checks the credential first)")
    .addOption(configOption())
    .requiredOption("--credential <text>", "the QR code's token or the short code")
    .requiredOption("--item <barcode>", "the item's barcode")
    .option("--offline", "lend on an offline check (the home library is not reachable)")
    .addOption(new Option("--json", "print as JSON"))
    .action(
      async (o: { config: string; credential: string; item: string; offline?: boolean; json?: boolean }) => {
        const res = await withClient(deps, o.config, (c) =>
          c.lendToVisitor(
            { credential: o.credential, itemBarcode: o.item, offline: o.offline ?? false },
            { timeoutMs: TIMEOUT_MS },
          ),
        );
        if (o.json) return printJson(toJson(visitPb.LendToVisitorResponseSchema, res));
        const l = res.loan!;
        process.stdout.write(
          `lent ${l.itemBarcode} (${l.title}) to ${l.readerId} of ${l.homeAgencyId}: loan ${l.loanId}, due ${day(l.dueAt)}\n`,
        );
      },
    );

  group
    .command("return")
    .description(
      "take back an item lent to a visiting reader: this library's, or another's (shipped to its owner)",
    )
    .addOption(configOption())
    .argument("[loan]", "the loan id on the date-due slip (owner:ID)")
    .option("--item <barcode>", "at the owner: the item's barcode instead of the loan id")
    .option("--tracking <no>", "another library's item: the carrier's tracking number")
    .addOption(new Option("--json", "print as JSON"))
    .action(
      async (
        loan: string | undefined,
        o: { config: string; item?: string; tracking?: string; json?: boolean },
      ) => {
        const res = await withClient(deps, o.config, (c) =>
          c.returnFromVisitor(
            { loanId: loan ?? "", itemBarcode: o.item ?? "", tracking: o.tracking ?? "" },
            { timeoutMs: TIMEOUT_MS },
          ),
        );
        if (o.json) return printJson(toJson(visitPb.ReturnFromVisitorResponseSchema, res));
        const l = res.loan!;
        process.stdout.write(
          l.state === "in-transit"
            ? `loan ${l.loanId}: returned here; ship it to ${l.ownerAgencyId} as shipment ${l.shipmentId}\n`
            : `loan ${l.loanId}: ${l.state}\n`,
        );
      },
    );

  group
    .command("receive")
    .description("owner: take in the shipment of an item returned at another library")
    .addOption(configOption())
    .argument("<shipment>", "the shipment id")
    .addOption(new Option("--json", "print as JSON"))
    .action(async (shipment: string, o: { config: string; json?: boolean }) => {
      const res = await withClient(deps, o.config, (c) =>
        c.receiveShipment({ shipmentId: shipment }, { timeoutMs: TIMEOUT_MS }),
      );
      if (o.json) return printJson(toJson(visitPb.ReceiveShipmentResponseSchema, res));
      process.stdout.write(`shipment ${shipment} received: loan ${res.loan?.loanId} is ${res.loan?.state}\n`);
    });

  group
    .command("list")
    .description("loans to visitors here, own readers' loans elsewhere, shipments, credentials, counts")
    .addOption(configOption())
    .addOption(
      new Option("--view <view>", "one part only").choices(["lent", "borrowed", "shipments", "credentials"]),
    )
    .option("--open", "open loans and shipments only")
    .addOption(new Option("--json", "print as JSON"))
    .action(async (o: { config: string; view?: string; open?: boolean; json?: boolean }) => {
      const res = await withClient(deps, o.config, (c) =>
        c.listVisits({ view: o.view ?? "", openOnly: o.open ?? false }, { timeoutMs: TIMEOUT_MS }),
      );
      if (o.json) return printJson(toJson(visitPb.ListVisitsResponseSchema, res));
      const want = (v: string) => !o.view || o.view === v;
      if (want("lent")) {
        process.stdout.write("lent here to visiting readers:\n");
        printLoans(res.lent, "  none");
      }
      if (want("borrowed")) {
        process.stdout.write("own readers' loans at other libraries:\n");
        printLoans(res.borrowed, "  none");
      }
      if (want("shipments")) {
        process.stdout.write("other libraries' items returned here:\n");
        printLoans(res.shipments, "  none");
      }
      if (want("credentials")) {
        process.stdout.write("credentials issued:\n");
        if (res.credentials.length === 0) process.stdout.write("  none\n");
        printTable(
          res.credentials.map((c) => ({
            credential: c.body?.credentialId ?? "",
            reader: c.readerRef,
            pseudonym: c.body?.readerId ?? "",
            expires: day(c.body?.expiresAt),
            blocked: c.blockReason || "-",
          })),
        );
      }
      if (res.counts.length > 0) {
        process.stdout.write("per institution:\n");
        printTable(
          res.counts.map((c) => ({
            institution: c.institutionId,
            visits: String(c.visits),
            lentTo: String(c.lentTo),
            borrowedFrom: String(c.borrowedFrom),
          })),
        );
      }
    });
}

function positive(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: "${text}" is not a whole number above 0`);
  return n;
}
