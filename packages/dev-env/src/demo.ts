import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { DEMO_CATALOGS, DEMO_HARVESTED, DEMO_ORDERS, SAMPLE_DATA } from "./demo-data.js";
import { DEMO_SPEC, Federation, REPO_ROOT } from "./federation.js";
import { type MockIls, startMockIls } from "./mock-ils.js";
import { type MockNcip, startMockNcip } from "./mock-ncip.js";
import { DemoWorkload } from "./workload.js";

/**
 * Traffic figures every few seconds rather than every minute, so that the dashboard moves while
 * one watches it (environment, so that it holds for demos created before too).
 */
const DEMO_ENV: NodeJS.ProcessEnv = {
  MEMBER_TRAFFIC_FLUSH_INTERVAL: "5s",
  REGIONAL_TRAFFIC_FLUSH_INTERVAL: "5s",
  NATIONAL_TRAFFIC_FLUSH_INTERVAL: "5s",
};

/**
 * `npm start`: creates (first run) or reuses (later runs) the demo federation
 * under .lrs/demo and runs it until Ctrl-C.
 */
async function mockIls(member: string, files: string[], port: number): Promise<MockIls> {
  return startMockIls({
    files: files.map((f) => join(SAMPLE_DATA(REPO_ROOT), f)),
    name: `${member} ILS (mock, for the demo)`,
    barcodePrefix: member.toUpperCase().replace(/-/g, ""),
    port,
  });
}

/**
 * The same ILS's NCIP responder (a second port): its items as the OAI-PMH records carry them, every
 * fifth one out on loan now (live availability differs from the harvested status), and a patron
 * record per borrowing library, as `[ncip] borrowing_library_patron` names them. Kept in memory:
 * after a restart every item is back as it started.
 */
async function mockNcip(member: string, ils: MockIls, port: number): Promise<MockNcip> {
  const members = [...DEMO_SPEC.regions.flatMap((r) => r.members.map((m) => m.id))];
  const ncip = await startMockNcip({ agencyId: member, patrons: members.map((m) => `ILL-${m}`), port });
  for (const [n, i] of ils.items.entries())
    ncip.addItem(i.barcode, i.title, n % 5 === 4 ? "On Loan" : "Available On Shelf");
  return ncip;
}

async function main(): Promise<void> {
  const program = new Command("lrs-demo")
    .description(
      "run a demo LRS federation on this machine (1 national center, 2 regional centers, 3 members each)",
    )
    .option("--dir <path>", "where the demo lives", join(REPO_ROOT, ".lrs/demo"))
    .option("--fresh", "throw away an existing demo federation and create a new one")
    .option("--log-level <level>", "log level of the node processes", "info")
    .option("--no-data", "do not load the sample catalogs on first start")
    .option("--no-workload", "do not run the synthetic workload (searches and loans between the members)")
    .parse();
  const o = program.opts<{
    dir: string;
    fresh?: boolean;
    logLevel: string;
    data: boolean;
    workload: boolean;
  }>();
  const workload = new AbortController();
  const started = Date.now();
  const progress = (line: string) => process.stdout.write(`  ${line}\n`);
  let fed: Federation | undefined;
  const ilss: Array<MockIls | MockNcip> = [];
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write("\nstopping the demo federation…\n");
    workload.abort();
    await fed?.stopAll();
    await Promise.all(ilss.map((i) => i.close()));
    process.stdout.write("all nodes stopped; `npm start` brings the same federation back.\n");
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
  try {
    if (o.fresh && Federation.exists(o.dir)) Federation.open({ dir: o.dir }).remove();
    if (Federation.exists(o.dir)) {
      process.stdout.write(`starting the demo federation in ${o.dir}\n`);
      fed = Federation.open({ dir: o.dir, logLevel: o.logLevel, onProgress: progress, env: DEMO_ENV });
      // The mock ILSs come back where the members' [harvest] expects them, before the members start.
      for (const [member, files] of Object.entries(DEMO_HARVESTED)) {
        const url = /\[harvest\][^[]*?url = "http:\/\/127\.0\.0\.1:(\d+)\/oai"/.exec(
          readFileSync(fed.node(member).config, "utf8"),
        );
        if (!url) continue;
        const ils = await mockIls(member, files, Number(url[1]));
        ilss.push(ils);
        const ncip = /\[ncip\][^[]*?url = "http:\/\/127\.0\.0\.1:(\d+)\/ncip"/.exec(
          readFileSync(fed.node(member).config, "utf8"),
        );
        if (ncip) ilss.push(await mockNcip(member, ils, Number(ncip[1])));
      }
      await fed.startAll();
    } else {
      process.stdout.write(`creating a demo federation in ${o.dir} (first run)\n`);
      fed = await Federation.create(DEMO_SPEC, {
        dir: o.dir,
        logLevel: o.logLevel,
        onProgress: progress,
        env: DEMO_ENV,
      });
      if (o.data) {
        const data = SAMPLE_DATA(REPO_ROOT);
        await Promise.all(
          Object.entries(DEMO_CATALOGS).map(async ([member, files]) => {
            const summary = await fed!.importCatalog(
              member,
              files.map((f) => join(data, f)),
            );
            const added = /added\s+(\d+)/.exec(summary)?.[1] ?? "?";
            const rejected = Number(/rejected\s+(\d+)/.exec(summary)?.[1] ?? "0");
            progress(
              `imported ${added} records at ${member} (${files.join(", ")})${rejected ? `; ${rejected} rejected, see its import summary` : ""}`,
            );
          }),
        );
        for (const [member, files] of Object.entries(DEMO_HARVESTED)) {
          const ils = await mockIls(member, files, 0);
          ilss.push(ils);
          const ncip = await mockNcip(member, ils, 0);
          ilss.push(ncip);
          const node = fed.node(member);
          writeFileSync(
            node.config,
            `${readFileSync(node.config, "utf8")}\n# Its catalog comes from its ILS over OAI-PMH (a mock ILS run by the demo).\n[harvest]\nurl = "${ils.url}"\nmetadata_prefix = "marc21"\nholdings_map = "koha"\nschedule = "15m"\n\n# Its loans reach the same ILS over NCIP (lending side), and availability is asked of it live.\n[ncip]\nurl = "${ncip.url}"\nagency_id = "${member}"\nmessages = ["LookupItem", "CheckOutItem", "CheckInItem"]\n\n[availability]\nsource = "ncip"\n`,
          );
          const s = JSON.parse(await fed.cli(node, ["harvest", "--config", node.config, "--json"])) as {
            added: number;
            items: number;
            pages: number;
          };
          progress(
            `harvested ${s.added} records and ${s.items} items at ${member} from its ILS at ${ils.url} (${s.pages} pages); NCIP to the same ILS at ${ncip.url}`,
          );
          // Restarted so that its scheduled harvest (every 15 minutes) runs.
          await fed.stop(member);
          await fed.start(member);
        }
        // Some orders, published as on-order holdings (`lrs-member acquire check` sees them).
        for (const [member, csv] of Object.entries(DEMO_ORDERS)) {
          const node = fed.node(member);
          const file = join(fed.dir, `orders-${member}.csv`);
          writeFileSync(file, `${csv}\n`);
          const s = JSON.parse(
            await fed.cli(node, ["order", "import", file, "--config", node.config, "--json"]),
          ) as { placed: string[] };
          progress(`placed ${s.placed.length} orders at ${member} (${file})`);
        }
      }
      // Reciprocal borrowing: a credential of a north-univ reader, to borrow in person in the south.
      const home = fed.node("north-univ");
      const qrSvg = join(o.dir, "visiting-reader.svg");
      const issued = JSON.parse(
        await fed.cli(home, [
          "visit",
          "issue",
          "--config",
          home.config,
          "--reader",
          "DEMO-READER-1",
          "--qr",
          "svg",
          "--out",
          qrSvg,
          "--json",
        ]),
      ) as { readerId: string; shortCode: string; token: string };
      fed.manifest.visitingReader = {
        home: "north-univ",
        readerId: issued.readerId,
        shortCode: issued.shortCode,
        token: issued.token,
        qrSvg,
      };
      fed.writeManifest();
      progress(
        `issued a visiting-reader credential to a north-univ reader: ${issued.shortCode} (QR code ${qrSvg})`,
      );
    }
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    await stop(1);
    return;
  }
  await fed.waitSynced().catch((err: Error) => progress(`warning: ${err.message}`));
  let manifestChanged = false;
  const rows = await Promise.all(
    fed.manifest.nodes.map(async (n) => {
      const st = await fed!.status(n.id).catch(() => undefined);
      // A demo made before the node had these listeners learns their addresses from the node.
      if (st?.metricsUrl && n.metrics !== st.metricsUrl) {
        n.metrics = st.metricsUrl;
        manifestChanged = true;
      }
      // OAI-PMH is served on the SRU listener.
      if (n.sru && !n.oai) {
        n.oai = n.sru.replace(/\/sru$/, "/oai");
        manifestChanged = true;
      }
      if (st?.dashboardUrl && n.dashboard !== st.dashboardUrl) {
        n.dashboard = st.dashboardUrl;
        manifestChanged = true;
      }
      const c = st?.catalog;
      return {
        id: n.id,
        tier: n.tier,
        region: n.region || "-",
        address: n.grpc,
        health: await fed!.health(n.id).catch((e: Error) => `error: ${e.message}`),
        catalog: !c
          ? "-"
          : n.tier === "member"
            ? `${c.records} records, ${c.holdings} items`
            : `${c.records} records in ${c.clusters} clusters`,
      };
    }),
  );
  if (manifestChanged) fed.writeManifest();
  const dashboard = fed.manifest.nodes.find((n) => n.tier === "national")?.dashboard ?? "";
  const cols = ["id", "tier", "region", "address", "health", "catalog"] as const;
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(width[i]!)).join("  ");
  process.stdout.write(`\n${line(cols.map((c) => c.toUpperCase()))}\n`);
  for (const r of rows) process.stdout.write(`${line(cols.map((c) => r[c]))}\n`);
  process.stdout.write(
    `\n${rows.length} nodes up in ${((Date.now() - started) / 1000).toFixed(1)} s. Manifest: ${fed.manifestPath}\n` +
      `Logs: ${join(fed.dir, "logs")}. Try: node packages/member-node/bin/lrs-member.js directory --config ${fed.node("north-univ").config}\n` +
      `SRU (try: yaz-client ${fed.node("national").sru ?? ""}): ${fed.manifest.nodes
        .filter((n) => n.sru)
        .map((n) => `${n.id} ${n.sru}`)
        .join(", ")}\n` +
      `OAI-PMH (try: catmandu convert OAI --url ${fed.node("national").oai ?? ""} --metadataPrefix marc21 to YAML): ${fed.manifest.nodes
        .filter((n) => n.oai)
        .map((n) => `${n.id} ${n.oai}`)
        .join(", ")}\n` +
      `Prometheus metrics: every node's "metrics" in the manifest (e.g. ${fed.node("national").metrics ?? ""}).\n` +
      `\nDashboard of federated traffic: ${dashboard}\n` +
      (fed.manifest.visitingReader
        ? `\nVisiting reader of ${fed.manifest.visitingReader.home}: short code ${fed.manifest.visitingReader.shortCode}, QR code ${fed.manifest.visitingReader.qrSvg}.\n` +
          `Try: node packages/member-node/bin/lrs-member.js visit check --config ${fed.node("south-univ").config} ${fed.manifest.visitingReader.shortCode}\n`
        : "") +
      `\nStaff web application (demo login; the manifest gives "web", "webUser", "webPassword" per node):\n${fed.manifest.nodes
        .filter((n) => n.web)
        .map((n) => `  ${n.id.padEnd(14)} ${n.web}  user ${n.webUser}  password ${n.webPassword}`)
        .join("\n")}\n` +
      (o.workload
        ? "A gentle synthetic workload runs (searches every few seconds, a loan every minute or so); --no-workload turns it off.\n"
        : "") +
      "Press Ctrl-C to stop every node.\n",
  );
  if (o.workload) {
    const members = fed.manifest.nodes.filter((n) => n.tier === "member").map((n) => n.id);
    void new DemoWorkload(fed, { members, say: progress }).run(workload.signal);
  }
  await new Promise(() => {});
}

await main();
