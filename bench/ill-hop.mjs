#!/usr/bin/env node
// What one store-and-forward hop costs a center, without the network: a regional center's relay
// (its real migrations and pragmas, synchronous = FULL, on disk) takes ILL envelopes from a member
// and forwards them to the national center, (a) one at a time as before DeliverBatch — a commit to
// store each and another to mark it delivered — and (b) in batches, as DeliverBatch and the outbox
// now do — one commit to store a batch, one unsynced commit to mark it delivered.
//
//   npx tsc -b && node bench/ill-hop.mjs [--envelopes 400] [--batches 1,10,50,100]
//
// Prints envelopes per second and milliseconds per envelope for each way, and what one commit
// costs on this disk (FULL and NORMAL), which is what a hop mostly waits for.
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { createLogger, Database, directoryPb, ill, illPb, Outbox, sharedMigrations, Tier } from "@lrs/shared";
import { IllRelay, illRelayMigrations } from "@lrs/shared/center";
import { fixedDirectory, memberIdentity, NORTH_RC } from "@lrs/shared/testing";
import { ROOT } from "./records.mjs";
import { arg } from "./util.mjs";

const N = Number(arg("--envelopes", "400"));
const BATCHES = arg("--batches", "1,10,50,100").split(",").map(Number);
const DIR = join(ROOT, "bench/out/ill-hop");

const directory = fixedDirectory(
  create(directoryPb.DirectorySchema, {
    version: 1n,
    authorityId: "nat",
    institutions: [
      { id: "nat", tier: Tier.NATIONAL },
      { id: "north-rc", tier: Tier.REGIONAL, region: "north" },
      { id: "south-rc", tier: Tier.REGIONAL, region: "south" },
      { id: "north-a", tier: Tier.MEMBER, region: "north" },
      { id: "south-a", tier: Tier.MEMBER, region: "south" },
    ],
  }),
);

const envelope = (i, run) =>
  ill.envelopeOf(
    create(illPb.RequestSchema, {
      header: {
        requestingAgencyId: { agencyIdType: "LRS", agencyIdValue: "north-a" },
        supplyingAgencyId: { agencyIdType: "LRS", agencyIdValue: "south-a" },
        requestingAgencyRequestId: `${run}-${i}/1`,
        messageId: `${run}-m${i}`,
      },
      bibliographicInfo: { title: `A title of some length, number ${i}`, author: "An Author" },
    }),
  );

function open(name) {
  const db = Database.open(join(DIR, `${name}.db`), [...sharedMigrations, ...illRelayMigrations]);
  const outbox = new Outbox(db);
  const log = createLogger("bench");
  return { db, outbox, relay: new IllRelay({ db, outbox, directory, self: NORTH_RC, log }) };
}

/** Commit cost on this disk: 200 one-row transactions. */
function commitMs(mode) {
  const { db } = open(`commit-${mode}`);
  db.sqlite.pragma(`synchronous = ${mode}`);
  db.sqlite.exec("CREATE TABLE t (x)");
  const st = db.sqlite.prepare("INSERT INTO t VALUES (?)");
  const t0 = performance.now();
  for (let i = 0; i < 200; i++) db.transaction(() => st.run(i));
  const ms = (performance.now() - t0) / 200;
  db.close();
  return ms;
}

rmSync(DIR, { recursive: true, force: true });
mkdirSync(DIR, { recursive: true });
const caller = memberIdentity("north-a");
console.log(
  `one commit on this disk: ${commitMs("FULL").toFixed(2)} ms (synchronous = FULL), ${commitMs("NORMAL").toFixed(2)} ms (NORMAL)`,
);
console.log("\n| way | envelopes | per second | ms per envelope |\n|---|---:|---:|---:|");
for (const b of BATCHES) {
  const { db, outbox, relay } = open(`batch-${b}`);
  const envs = Array.from({ length: N }, (_, i) => envelope(i, `b${b}`));
  const mark = db.sqlite.prepare("UPDATE outbox SET delivered_at = ?, last_error = NULL WHERE seq = ?");
  const t0 = performance.now();
  for (let i = 0; i < N; i += b) {
    const chunk = envs.slice(i, i + b);
    if (b === 1) {
      // Before: Deliver stores one (a commit); the worker forwards it and marks it (another commit).
      relay.deliver(chunk[0], caller);
      const m = outbox.nextDue("parent");
      mark.run(new Date().toISOString(), m.seq);
    } else {
      relay.deliverBatch(chunk, caller);
      const head = outbox.nextDue("parent");
      const run = outbox.nextRun(head, b, () => true);
      outbox.markAllDelivered(run.map((m) => m.seq));
    }
  }
  const ms = performance.now() - t0;
  if (outbox.pendingCount() !== 0) throw new Error(`${outbox.pendingCount()} left in the outbox`);
  const way = b === 1 ? "one per call (before)" : `DeliverBatch of ${b}`;
  console.log(`| ${way} | ${N} | ${((N / ms) * 1000).toFixed(0)} | ${(ms / N).toFixed(2)} |`);
  db.close();
}
rmSync(DIR, { recursive: true, force: true });
