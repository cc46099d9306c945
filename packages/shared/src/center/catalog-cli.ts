import { createWriteStream } from "node:fs";
import { toJson } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import type { Command } from "commander";
import { loadConfig } from "../config.js";
import { CatalogService, ClusterSchema } from "../gen/lrs/v1/catalog_pb.js";
import type { Tier } from "../gen/lrs/v1/common_pb.js";
import { subfieldValues } from "../marc/fields.js";
import { fitIso2709 } from "../marc/iso2709-fit.js";
import { readMarcXml } from "../marc/marcxml.js";
import { configOption, printJson, printTable, selfTransport } from "../node/cli.js";

/** Runs `fn` with this node's own CatalogService client. */
async function withCatalog<T>(
  tier: Tier,
  configPath: string,
  fn: (c: ReturnType<typeof createClient<typeof CatalogService>>) => Promise<T>,
): Promise<T> {
  const cfg = loadConfig(tier, configPath);
  const t = selfTransport(cfg);
  try {
    return await fn(createClient(CatalogService, t.transport));
  } finally {
    t.close();
  }
}

/** `export`, `cluster`, `locate` and `split`: the union catalog commands of regional and national centers. */
export function addUnionCatalogCommands(program: Command, tier: Tier): void {
  program
    .command("export")
    .description(
      "write the union catalog as MARCXML (or ISO 2709), one record per cluster with one holdings field (852) per institution",
    )
    .addOption(configOption())
    .option("-o, --output <file>", "where to write (default: standard output)")
    .option(
      "--format <format>",
      "marcxml, or iso2709 (records too long for ISO 2709 are shortened, and each one is named on standard error)",
      "marcxml",
    )
    .action(async (o: { config: string; output?: string; format: string }) => {
      if (o.format !== "marcxml" && o.format !== "iso2709") {
        throw new Error(`--format must be marcxml or iso2709, not ${JSON.stringify(o.format)}`);
      }
      const out: NodeJS.WritableStream = o.output ? createWriteStream(o.output) : process.stdout;
      const write = async (chunk: string | Buffer) => {
        if (!out.write(chunk)) await new Promise<void>((r) => out.once("drain", () => r()));
      };
      let bytes = 0;
      let records = 0;
      let shortened = 0;
      await withCatalog(tier, o.config, async (c) => {
        async function* xml() {
          for await (const res of c.export({}, { timeoutMs: 30 * 60_000 })) yield res.marcxml;
        }
        if (o.format === "marcxml") {
          for await (const chunk of xml()) {
            bytes += chunk.length;
            await write(chunk);
          }
          return;
        }
        for await (const r of readMarcXml(xml())) {
          if (!r.ok) throw r.error;
          const { marc, changes } = fitIso2709(r.record);
          records++;
          bytes += marc.length;
          if (changes.length > 0) {
            shortened++;
            const id =
              subfieldValues(r.record, "035", "a").find((v) => v.startsWith("(LRS)")) ?? `record ${records}`;
            process.stderr.write(`${id}: ${changes.join("; ")}\n`);
          }
          await write(marc);
        }
      });
      if (o.output) {
        await new Promise<void>((resolve, reject) =>
          (out as ReturnType<typeof createWriteStream>).end((err?: Error | null) =>
            err ? reject(err) : resolve(),
          ),
        );
      }
      if (o.format === "iso2709") {
        process.stderr.write(
          `${records} records${o.output ? ` written to ${o.output}` : ""} (${bytes} bytes); ${shortened} shortened to fit ISO 2709\n`,
        );
      } else if (o.output) process.stderr.write(`wrote ${o.output} (${bytes} characters)\n`);
    });

  program
    .command("cluster")
    .description("show one cluster of the union catalog: its records, preferred record and holdings")
    .addOption(configOption())
    .argument("<cluster-id>")
    .option("--json", "print as JSON")
    .action(async (id: string, o: { config: string; json?: boolean }) => {
      const res = await withCatalog(tier, o.config, (c) =>
        c.getCluster({ clusterId: id }, { timeoutMs: 10_000 }),
      );
      const cl = res.cluster!;
      if (o.json) return printJson(toJson(ClusterSchema, cl));
      process.stdout.write(
        `${cl.id}  ${cl.title}${cl.author ? ` / ${cl.author}` : ""}${cl.year ? ` (${cl.year})` : ""}\n`,
      );
      if (cl.isbns.length) process.stdout.write(`ISBN ${cl.isbns.join(", ")}\n`);
      if (cl.issns.length) process.stdout.write(`ISSN ${cl.issns.join(", ")}\n`);
      process.stdout.write("\nrecords:\n");
      printTable(
        cl.records.map((r) => ({
          institution: r.institutionId,
          record: r.recordId,
          preferred: r.preferred ? "yes" : "",
          received: r.receivedAt ? timestampDate(r.receivedAt).toISOString() : "",
        })),
      );
      process.stdout.write("\nholdings:\n");
      printTable(
        cl.holdings.map((h) => ({
          institution: h.institutionId,
          items: String(h.holdings.length),
          locations: [...new Set(h.holdings.map((x) => x.location))].join(", "),
        })),
      );
    });

  program
    .command("locate")
    .description("which cluster holds an institution's record")
    .addOption(configOption())
    .argument("<institution-id>")
    .argument("<record-id>")
    .action(async (inst: string, rec: string, o: { config: string }) => {
      const res = await withCatalog(tier, o.config, (c) =>
        c.locateRecord({ institutionId: inst, recordId: rec }, { timeoutMs: 10_000 }),
      );
      if (!res.clusterId) throw new Error(`record ${inst}/${rec} is not in this union catalog`);
      process.stdout.write(`${res.clusterId}\n`);
    });

  program
    .command("split")
    .description("split records out of a wrongly merged cluster; they are kept apart from then on")
    .addOption(configOption())
    .argument("<cluster-id>")
    .argument("<records...>", "records to move out, as INSTITUTION/RECORD_ID")
    .action(async (id: string, records: string[], o: { config: string }) => {
      const res = await withCatalog(tier, o.config, (c) =>
        c.splitCluster({ clusterId: id, records }, { timeoutMs: 10_000 }),
      );
      process.stdout.write(`${res.newClusterId}\n`);
    });
}
