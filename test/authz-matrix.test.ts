import { readFileSync } from "node:fs";
import { join } from "node:path";
import { create, type DescMethod } from "@bufbuild/protobuf";
import { Code, type Transport } from "@connectrpc/connect";
import { type Federation, REPO_ROOT, sleep } from "@lrs/dev-env";
import { memberPolicy } from "@lrs/member-node";
import { nationalPolicy } from "@lrs/national-center";
import { regionalPolicy } from "@lrs/regional-center";
import {
  authzMatrix,
  CALLER_KINDS,
  type CallerKind,
  createCertificateAuthority,
  createNodeTransport,
  directoryPb,
  issueCertificate,
  type MatrixRow,
  matrixSection,
  type NodeKind,
  parseMatrixMarkdown,
  Tier,
  type Verdict,
} from "@lrs/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pem, SMALL_SPEC, startFederation } from "./harness.js";
import { callAny, methodOf } from "./rpc-call.js";

/**
 * The authorization table in DESIGN.md, called cell by cell against real nodes: every RPC of a
 * member, a regional center and the national center, by every kind of caller, with real
 * certificates (a revoked member's, an expired one, a foreign CA's, none). A call is "allow"
 * when the answer is anything but PERMISSION_DENIED or UNAUTHENTICATED.
 */

/** The node each row kind is called at, and who each kind of caller is for it. */
const TARGET: Record<NodeKind, string> = { member: "north-a", regional: "north-rc", national: "nat" };
const CALLER: Record<NodeKind, Partial<Record<CallerKind, string>>> = {
  member: {
    self: "north-a",
    "member, same region": "north-b",
    "member, other region": "south-a",
    "own regional center": "north-rc",
    "peer regional center": "south-rc",
    "national center": "nat",
  },
  regional: {
    self: "north-rc",
    "own member": "north-a",
    "member, other region": "south-a",
    "peer regional center": "south-rc",
    "national center": "nat",
  },
  national: { self: "nat", "member, other region": "north-a", "own regional center": "north-rc" },
};

let fed: Federation;
let destroy: () => Promise<void>;
/** Certificates that fail: keyed by caller kind. */
const failing = new Map<CallerKind, { certPem?: string; keyPem?: string }>();

beforeAll(async () => {
  const spec = structuredClone(SMALL_SPEC);
  spec.regions[0]!.members.push({ id: "north-gone", name: "North Library (revoked)" });
  ({ fed, destroy } = await startFederation(spec));
  const nat = fed.node("nat");
  await fed.cli(nat, ["revoke", "--config", nat.config, "north-gone", "--reason", "authz matrix test"]);
  const gone = fed.node("north-gone");
  failing.set("revoked", { certPem: pem(gone.cert), keyPem: pem(gone.key) });
  await fed.stop("north-gone");
  // Every node called must know of the revocation before the revoked column means anything.
  for (const id of Object.values(TARGET)) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const d = await fed.withClient(id, directoryPb.DirectoryService, (c) => c.getDirectory({}));
      if (d.directory?.institutions.find((i) => i.id === "north-gone")?.revoked) break;
      if (Date.now() > deadline) throw new Error(`${id} did not learn of the revocation`);
      await sleep(100);
    }
  }
  const identity = { id: "north-b", tier: Tier.MEMBER, region: "north" };
  const realCa = {
    certPem: pem(join(nat.dataDir, "ca", "ca.pem")),
    keyPem: pem(join(nat.dataDir, "ca", "ca-key.pem")),
  };
  failing.set(
    "expired cert",
    await issueCertificate(realCa, ["localhost"], {
      identity,
      notBefore: new Date(Date.now() - 10 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    }),
  );
  failing.set(
    "foreign CA",
    await issueCertificate(await createCertificateAuthority("Elsewhere"), ["localhost"], { identity }),
  );
  failing.set("no cert", {});
}, 600_000);
afterAll(async () => {
  await destroy?.();
});

/**
 * Requests that pass a handler's own checks of who asks for what, where a handler has them
 * (the table is about who may call; "a regional center may have certificates signed only for
 * members of its own region" is the handler's rule about the message). Every other method is
 * called with an empty request.
 */
const REQUESTS: Record<string, Record<string, unknown>> = {
  "lrs.v1.DirectoryService/SignCertificate": { tier: Tier.MEMBER, region: "north", institutionId: "" },
};

/** What one call says, as the table writes it. */
async function verdict(transport: Transport, method: DescMethod): Promise<Verdict> {
  const name = `${method.parent.typeName}/${method.name}`;
  const err = await callAny(transport, method, create(method.input, REQUESTS[name] ?? {}), 5000);
  if (err?.code === Code.PermissionDenied) return "deny";
  return err?.code === Code.Unauthenticated ? "unauth" : "allow";
}

function credentials(node: NodeKind, kind: CallerKind): { certPem?: string; keyPem?: string } | undefined {
  const f = failing.get(kind);
  if (f) return f;
  const id = CALLER[node][kind];
  if (!id) return undefined;
  const n = fed.node(id);
  return { certPem: pem(n.cert), keyPem: pem(n.key) };
}

const table = parseMatrixMarkdown(matrixSection(readFileSync(join(REPO_ROOT, "DESIGN.md"), "utf8")) ?? "");

describe("the authorization matrix", () => {
  it("in DESIGN.md is what the policies say (npm run gen:authz writes it)", () => {
    const fromCode: MatrixRow[] = [
      ...authzMatrix("member", memberPolicy),
      ...authzMatrix("regional", regionalPolicy),
      ...authzMatrix("national", nationalPolicy),
    ];
    expect(table).toEqual(fromCode);
  });

  it("is what real nodes answer, cell by cell", async () => {
    const got: MatrixRow[] = [];
    for (const node of ["member", "regional", "national"] as NodeKind[]) {
      const target = fed.node(TARGET[node]);
      const rows = table
        .filter((r) => r.node === node)
        .map((r) => ({ ...r, cells: {} as MatrixRow["cells"] }));
      for (const kind of CALLER_KINDS) {
        const creds = credentials(node, kind);
        if (!creds) continue;
        const t = createNodeTransport({
          endpoint: target.grpc,
          caPem: pem(target.caCert),
          ...creds,
          expectId: target.id,
        });
        try {
          for (const row of rows) row.cells[kind] = await verdict(t.transport, methodOf(row.method));
        } finally {
          t.close();
        }
      }
      got.push(...rows);
    }
    // One comparison of the whole table, so a failure lists every cell that differs.
    const diff = (rows: MatrixRow[]) =>
      rows.flatMap((r) => CALLER_KINDS.map((k) => `${r.node} ${r.method} by ${k}: ${r.cells[k] ?? "—"}`));
    expect(diff(got)).toEqual(diff(table));
  }, 600_000);
});
