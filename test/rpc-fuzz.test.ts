import { readFileSync } from "node:fs";
import { join } from "node:path";
import { create, type Message } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { type Federation, REPO_ROOT } from "@lrs/dev-env";
import {
  CALLER_KINDS,
  type CallerKind,
  catalogPb,
  createNodeTransport,
  directoryPb,
  ledgerPb,
  type MatrixRow,
  matrixSection,
  type NodeKind,
  parseMatrixMarkdown,
  searchPb,
  trafficPb,
} from "@lrs/shared";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messageOf, mutationsOf } from "./fuzz/arbitrary-message.js";
import { pem, startFederation } from "./harness.js";
import { callAny, methodOf } from "./rpc-call.js";

/**
 * Every RPC of every kind of node, called by a caller the authorization table lets through
 * (so the message reaches the handler), with random messages and valid ones with one field
 * made hostile: the answer is never INTERNAL or UNKNOWN, no call hangs, and every node still
 * serves afterwards. LRS_FUZZ_RUNS sets the messages per RPC (default 12 random + 12 mutated).
 */

const RUNS = Number(process.env.LRS_FUZZ_RUNS ?? 12);
/** A call that takes longer than this has hung (the machine is shared; calls take milliseconds). */
const HANG_MS = 20_000;
/** Streams that wait for news by design: no first message within the limit is not a hang. */
const WAITS = new Set([
  "grpc.health.v1.Health/Watch",
  "lrs.v1.DirectoryService/WatchDirectory",
  "lrs.v1.TrafficService/WatchTraffic",
]);

const TARGET: Record<NodeKind, string> = { member: "fz-a", regional: "fz-rc", national: "fz-nat" };
const CALLER: Record<NodeKind, Partial<Record<CallerKind, string>>> = {
  member: { self: "fz-a", "own regional center": "fz-rc", "national center": "fz-nat" },
  regional: { self: "fz-rc", "own member": "fz-a", "national center": "fz-nat" },
  national: { self: "fz-nat", "own regional center": "fz-rc", "member, other region": "fz-a" },
};

let fed: Federation;
let destroy: () => Promise<void>;

beforeAll(async () => {
  ({ fed, destroy } = await startFederation({
    national: { id: "fz-nat", name: "Fuzz National" },
    regions: [
      { region: "fz", id: "fz-rc", name: "Fuzz Center", members: [{ id: "fz-a", name: "Fuzz Library" }] },
    ],
  }));
}, 600_000);
afterAll(async () => {
  for (const t of transports.values()) t.close();
  await destroy?.();
});

const table = parseMatrixMarkdown(matrixSection(readFileSync(join(REPO_ROOT, "DESIGN.md"), "utf8")) ?? "");

/** The first caller of this federation the table lets make the call, or undefined (nobody). */
function allowedCaller(row: MatrixRow): string | undefined {
  const kind = CALLER_KINDS.find((k) => row.cells[k] === "allow" && CALLER[row.node][k]);
  return kind && CALLER[row.node][kind];
}

/** One connection per node and caller, reused by every call (a TLS handshake each would be most of the time). */
const transports = new Map<string, ReturnType<typeof createNodeTransport>>();
function transportFor(node: NodeKind, as: string) {
  const key = `${node} ${as}`;
  let t = transports.get(key);
  if (!t) {
    const target = fed.node(TARGET[node]);
    const caller = fed.node(as);
    t = createNodeTransport({
      endpoint: target.grpc,
      caPem: pem(target.caCert),
      certPem: pem(caller.cert),
      keyPem: pem(caller.key),
      expectId: target.id,
    });
    transports.set(key, t);
  }
  return t;
}

/** What is wrong with one answer, or undefined when it is a proper one. */
async function badAnswer(
  node: NodeKind,
  as: string,
  name: string,
  req: Message,
): Promise<string | undefined> {
  const started = Date.now();
  const err = await callAny(transportFor(node, as).transport, methodOf(name), req, HANG_MS);
  if (err?.code === Code.DeadlineExceeded && !WAITS.has(name) && Date.now() - started >= HANG_MS)
    return `${name} at ${node} hung (no answer in ${HANG_MS} ms)`;
  if (err && (err.code === Code.Internal || err.code === Code.Unknown))
    return `${name} at ${node} answered ${Code[err.code]}: ${err.rawMessage}`;
  if (err && err.rawMessage.length > 1024)
    return `${name} at ${node}: an error message of ${err.rawMessage.length} characters`;
  return undefined;
}

describe("every RPC under hostile messages", () => {
  it("refuses the inputs found by fuzzing, naming the field (regressions)", async () => {
    const seq = await callAny(
      transportFor("regional", "fz-a").transport,
      catalogPb.CatalogSyncService.method.pushChanges,
      create(catalogPb.PushChangesRequestSchema, {
        changes: [create(catalogPb.CatalogChangeSchema, { seq: 2n ** 64n - 1n })],
      }),
      HANG_MS,
    );
    expect(seq?.code).toBe(Code.InvalidArgument);
    expect(seq?.rawMessage).toContain(
      "changes[0].seq: 18446744073709551615 is above the largest allowed value",
    );
    const when = await callAny(
      transportFor("member", "fz-a").transport,
      trafficPb.TrafficService.method.getTraffic,
      create(trafficPb.GetTrafficRequestSchema, { since: { seconds: 9_000_000_000_000n, nanos: 0 } }),
      HANG_MS,
    );
    expect(when?.code).toBe(Code.InvalidArgument);
    expect(when?.rawMessage).toContain("since: not a valid timestamp");
    const big = "x".repeat(100_000);
    for (const [node, as, method, req] of [
      [
        "regional",
        "fz-a",
        directoryPb.DirectoryService.method.enroll,
        create(directoryPb.EnrollRequestSchema, { token: big }),
      ],
      [
        "member",
        "fz-a",
        searchPb.SearchService.method.checkAvailability,
        create(searchPb.CheckAvailabilityRequestSchema, { clusterId: big }),
      ],
      [
        "regional",
        "fz-a",
        ledgerPb.LedgerService.method.getStatement,
        create(ledgerPb.GetStatementRequestSchema, { institutionId: big }),
      ],
    ] as const) {
      const err = await callAny(transportFor(node, as).transport, method, req, HANG_MS);
      expect(err?.code, method.name).toBe(Code.InvalidArgument);
      expect(err?.rawMessage.length).toBeLessThan(200);
    }
  });

  for (const node of ["member", "regional", "national"] as NodeKind[]) {
    it(`at a ${node} node: no INTERNAL, no hang, still serving`, async () => {
      const rows = table.filter((r) => r.node === node);
      expect(rows.length).toBeGreaterThan(10);
      const problems: string[] = [];
      for (const row of rows) {
        const as = allowedCaller(row);
        if (!as) continue;
        const input = methodOf(row.method).input;
        for (const [kind, arb] of [
          ["random", messageOf(input)],
          ["mutated", mutationsOf(input)],
        ] as const) {
          // Each failing input is shrunk by fast-check and reported with its seed for replay.
          await fc
            .assert(
              fc.asyncProperty(arb, async (req) => {
                const bad = await badAnswer(node, as, row.method, req);
                if (bad) problems.push(`${kind}: ${bad}`);
                return bad === undefined;
              }),
              { numRuns: RUNS, endOnFailure: true },
            )
            .catch((err: Error) => problems.push(err.message.split("\n").slice(0, 6).join(" | ")));
        }
      }
      expect(problems).toEqual([]);
      for (const id of Object.values(TARGET)) expect(await fed.health(id, 10_000), id).toBe("SERVING");
    }, 900_000);
  }
});
