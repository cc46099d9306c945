// Cross-region interlibrary loans for the benchmarks that drive them (bench/ill.mjs,
// bench/traffic.mjs): lenders that answer by themselves, titles each held by one member, and
// complete loan lifecycles through IllStaffService at the borrower, the way `lrs-member ill` does.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { isbnFor } from "@lrs/dev-env";
import { illPb, illServicePb, toIso2709 } from "@lrs/shared";
import { copyOf, loadSamples, sampleFiles } from "./records.mjs";
import { say } from "./util.mjs";

/**
 * A member whose automatic responder runs in scenario mode: it answers "scenario:loaned" by
 * WillSupply and Loaned at once, and checks the item in when its ShippedReturn arrives.
 */
export function scenarioLender(id) {
  return {
    id,
    name: `Benchmark ${id}`,
    extraConfig: `[ill]\nauto_respond = "scenario"\ntimer_interval = "100ms"\n`,
  };
}

/**
 * Each member imports `titles` titles of its own (copies of the real sample records without their
 * identifiers, each given an ISBN of its own and two items), so every title has exactly one
 * holder. The files are written to `dir`. Returns isbn → holder.
 */
export async function importOwnTitles(fed, members, titles, dir) {
  const { records } = await loadSamples(sampleFiles());
  const usable = records.filter((r) => r.record.fields.some((f) => f.tag === "245"));
  const holdings = new Map();
  let n = 0;
  await Promise.all(
    members.map(async (member, m) => {
      const chunks = [];
      for (let t = 0; t < titles; t++) {
        const sample = usable[(m * titles + t) % usable.length];
        const rec = copyOf({ ...sample, base: `bench${m}` }, t + 1, { stripIds: true, items: 2 });
        const isbn = isbnFor(++n);
        rec.fields.splice(1, 0, {
          tag: "020",
          ind1: " ",
          ind2: " ",
          subfields: [{ code: "a", value: isbn }],
        });
        holdings.set(isbn, member);
        chunks.push(toIso2709(rec));
      }
      const file = join(dir, `${member}.mrc`);
      writeFileSync(file, Buffer.concat(chunks.map((c) => Buffer.from(c))));
      await fed.cli(fed.node(member), ["import", "--config", fed.node(member).config, file]);
    }),
  );
  return holdings;
}

/**
 * Loans between the `north` and the `south` members of `fed`, whose titles are in `holdings`
 * (isbn → holder). `staff(id)` is a member's IllStaffService client (one connection per node, as
 * its own CLI would make); `close()` closes them.
 */
export function createLoanRunner(fed, { north, south, holdings }) {
  const clients = new Map();
  const staff = (id) => {
    if (!clients.has(id)) {
      const t = fed.transport(id);
      clients.set(id, { t, c: createClient(illServicePb.IllStaffService, t.transport) });
    }
    return clients.get(id).c;
  };
  const waitStatus = async (id, requestId, want, timeoutMs = 60_000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const r = (await staff(id).showRequest({ id: requestId })).request;
      if (want.includes(r.status)) return r;
      if (Date.now() > until) throw new Error(`${id} ${requestId}: still ${r.status}, wanted ${want}`);
      // Not faster: the polling itself would load the nodes being measured. The figures come
      // from the nodes' own timestamps, not from when this loop noticed.
      await new Promise((res) => setTimeout(res, 100));
    }
  };
  const titlesOf = (members) => [...holdings].filter(([, h]) => members.includes(h)).map(([isbn]) => isbn);
  const southTitles = titlesOf(south);
  const northTitles = titlesOf(north);

  /**
   * `loans` loans, `concurrency` at a time: a north member borrows a south member's title or the
   * other way round (alternating): Borrow, wait for Loaned, Receive, Return, wait for
   * LoanCompleted. A lifecycle is from the Borrow call to the borrower's own timestamp of
   * LoanCompleted. Returns the loans done ({ borrower, lender, id, ms, end }), the failures (with
   * why) and when it started; a progress line every `progressEvery` loans (0: none).
   */
  const run = async ({ loans, concurrency, progressEvery = 0 }) => {
    const done = [];
    const failures = [];
    let next = 0;
    const started = Date.now();
    const one = async (i) => {
      const fromNorth = i % 2 === 0;
      const borrower = fromNorth ? north[i % north.length] : south[i % south.length];
      const pool = fromNorth ? southTitles : northTitles;
      const isbn = pool[Math.floor(i / 2) % pool.length];
      const t0 = Date.now();
      const c = staff(borrower);
      const { request } = await c.borrow({
        itemIds: [{ bibliographicItemIdentifierCode: "ISBN", bibliographicItemIdentifier: isbn }],
        serviceType: illPb.ServiceType.LOAN,
        note: "scenario:loaned",
        // A patron of its own for every loan of every run on the same federation.
        patronId: `bench-${started}-${i}`,
      });
      await waitStatus(borrower, request.id, ["shipped"]);
      await c.act({ id: request.id, action: "receive" });
      await c.act({ id: request.id, action: "return" });
      const completed = await waitStatus(borrower, request.id, ["completed"]);
      const end = timestampDate(completed.timeline.at(-1).at).getTime();
      done.push({ borrower, lender: holdings.get(isbn), id: request.id, ms: end - t0, end });
    };
    const worker = async () => {
      while (next < loans) {
        const i = next++;
        try {
          await one(i);
        } catch (err) {
          failures.push(`${i}: ${err.message}`);
        }
        if (progressEvery && (done.length + failures.length) % progressEvery === 0)
          say(`${done.length} loans completed`);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return { done, failures, started };
  };

  const close = () => {
    for (const { t } of clients.values()) t.close();
  };
  return { staff, run, close };
}
