import { Code } from "@connectrpc/connect";
import { Tier } from "../gen/lrs/v1/common_pb.js";
import type { NodeIdentity } from "../tls/pki.js";
import { authorize, type Policy, policyMethods } from "./authz.js";
import type { Peer } from "./peer.js";

/**
 * The authorization matrix: every RPC of a node × every kind of caller, computed by running
 * the node's real decision (`authorize`) on a caller of each kind. `npm run gen:authz` writes it
 * into DESIGN.md; test/authz-matrix.test.ts calls every cell against real nodes and expects
 * exactly the table's answer.
 */

/** What a caller gets: allowed (anything but a refusal), refused, or not authenticated. */
export type Verdict = "allow" | "deny" | "unauth";

/** The kinds of caller, relative to the node called. */
export const CALLER_KINDS = [
  "self",
  "own member",
  "member, same region",
  "member, other region",
  "own regional center",
  "peer regional center",
  "national center",
  "revoked",
  "expired cert",
  "foreign CA",
  "no cert",
] as const;
export type CallerKind = (typeof CALLER_KINDS)[number];

/** The node under test in the table: a member, a regional center, the national center. */
export type NodeKind = "member" | "regional" | "national";
export const NODE_KINDS: NodeKind[] = ["member", "regional", "national"];

const REVOKED_FP = "RE:VO:KE:D0";

const member = (id: string, region: string): NodeIdentity => ({ id, tier: Tier.MEMBER, region });
const regional = (id: string, region: string): NodeIdentity => ({ id, tier: Tier.REGIONAL, region });
const NATIONAL: NodeIdentity = { id: "nat", tier: Tier.NATIONAL, region: "" };

/** The node called, as each table row means it: a member m1 and its center rc1 in region r1. */
export const NODE_IDENTITY: Record<NodeKind, NodeIdentity> = {
  member: member("m1", "r1"),
  regional: regional("rc1", "r1"),
  national: NATIONAL,
};

/**
 * Who each kind of caller is for each node (undefined: no such caller for that node; the
 * national center has no region, so every member and every regional center is "its" own
 * kind: "member, other region" and "own regional center" stand for them there).
 */
export function callerIdentity(node: NodeKind, kind: CallerKind): NodeIdentity | undefined {
  const self = NODE_IDENTITY[node];
  switch (kind) {
    case "self":
      return self;
    case "own member":
      return node === "regional" ? member("m1", "r1") : undefined;
    case "member, same region":
      return node === "member" ? member("m2", "r1") : undefined;
    case "member, other region":
      return member("m3", "r2");
    case "own regional center":
      return node === "regional" ? undefined : regional("rc1", "r1");
    case "peer regional center":
      return node === "national" ? undefined : regional("rc2", "r2");
    case "national center":
      return node === "national" ? undefined : NATIONAL;
    default:
      // revoked, expired, foreign, none: a member of the same region whose certificate fails.
      return member("m2", "r1");
  }
}

function peerOf(node: NodeKind, kind: CallerKind): Peer | undefined {
  const identity = callerIdentity(node, kind);
  if (!identity) return undefined;
  const fingerprint256 = kind === "revoked" ? REVOKED_FP : `FP:${identity.id}`;
  switch (kind) {
    case "no cert":
      return { presented: false, authorized: false };
    case "expired cert":
      return {
        presented: true,
        authorized: false,
        authorizationError: "CERT_HAS_EXPIRED",
        identity,
        fingerprint256,
      };
    case "foreign CA":
      return {
        presented: true,
        authorized: false,
        authorizationError: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
        identity,
        fingerprint256,
      };
    default:
      return { presented: true, authorized: true, identity, fingerprint256 };
  }
}

export interface MatrixRow {
  node: NodeKind;
  method: string;
  /** By caller kind; undefined where the node has no such caller. */
  cells: Partial<Record<CallerKind, Verdict>>;
}

/** The rows of one node's policy, methods in order. */
export function authzMatrix(node: NodeKind, policy: Policy): MatrixRow[] {
  const opts = { self: NODE_IDENTITY[node], policy, isRevoked: (fp: string) => fp === REVOKED_FP };
  return policyMethods(policy).map((method) => {
    const cells: MatrixRow["cells"] = {};
    for (const kind of CALLER_KINDS) {
      const peer = peerOf(node, kind);
      if (!peer) continue;
      const err = authorize(method, peer, opts);
      cells[kind] = !err ? "allow" : err.code === Code.Unauthenticated ? "unauth" : "deny";
    }
    return { node, method, cells };
  });
}

const NONE = "—";

/** The matrix as a Markdown table (what DESIGN.md holds between its authz markers). */
export function matrixMarkdown(rows: MatrixRow[]): string {
  const head = `| node | RPC | ${CALLER_KINDS.join(" | ")} |`;
  const rule = `|${" --- |".repeat(CALLER_KINDS.length + 2)}`;
  const lines = rows.map(
    (r) => `| ${r.node} | \`${r.method}\` | ${CALLER_KINDS.map((k) => r.cells[k] ?? NONE).join(" | ")} |`,
  );
  return [head, rule, ...lines].join("\n");
}

/** Reads a table `matrixMarkdown` wrote back into rows (the cross-node test's expectation). */
export function parseMatrixMarkdown(text: string): MatrixRow[] {
  const rows: MatrixRow[] = [];
  for (const line of text.split("\n")) {
    const cols = line
      .split("|")
      .slice(1, -1)
      .map((c) => c.trim());
    if (cols.length !== CALLER_KINDS.length + 2 || !NODE_KINDS.includes(cols[0] as NodeKind)) continue;
    const cells: MatrixRow["cells"] = {};
    CALLER_KINDS.forEach((k, i) => {
      const v = cols[i + 2];
      if (v === "allow" || v === "deny" || v === "unauth") cells[k] = v;
      else if (v !== NONE) throw new Error(`authorization table: "${v}" in ${cols[1]} for ${k}`);
    });
    rows.push({ node: cols[0] as NodeKind, method: (cols[1] ?? "").replace(/`/g, ""), cells });
  }
  return rows;
}

export const MATRIX_BEGIN = "<!-- authz-matrix:begin (generated by npm run gen:authz; do not edit) -->";
export const MATRIX_END = "<!-- authz-matrix:end -->";

/** The text between the markers in a document, or undefined when they are missing. */
export function matrixSection(doc: string): string | undefined {
  const a = doc.indexOf(MATRIX_BEGIN);
  const b = doc.indexOf(MATRIX_END);
  return a < 0 || b < a ? undefined : doc.slice(a + MATRIX_BEGIN.length, b).trim();
}
