// Whether a node can do its work, as a platform asks it (Kubernetes readiness probe, a load
// balancer, `HEALTHCHECK`): its database answers, its parent is reachable (when it has one), and
// its certificate is valid now and not revoked. Served as JSON at /readyz on the metrics listener
// (node/probes.ts); the gRPC health service stays for federation peers.
import type { Database } from "../db.js";
import type { PeerStatus } from "../gen/lrs/v1/admin_pb.js";
import type { CertificateInfo } from "../tls/pki.js";

export interface Check {
  ok: boolean;
  /** What was found, in words an operator reads ("expired 2026-11-30T…", "unreachable: …"). */
  detail: string;
}

export interface Readiness {
  ready: boolean;
  checks: Record<string, Check>;
}

export interface ReadinessSources {
  db: Database;
  /** The certificate the node serves with now (it changes when the node renews it). */
  cert: () => CertificateInfo;
  isRevoked: (fingerprint256: string) => boolean;
  /** Absent for the national center: it has no parent. */
  parent?: () => PeerStatus;
  /** How long since the last contact a parent still counts as reachable while it reconnects. */
  parentGraceMs?: number;
  now?: () => Date;
}

const DEFAULT_PARENT_GRACE_MS = 60_000;

export function checkDatabase(db: Database): Check {
  try {
    if (!db.sqlite.open) return { ok: false, detail: "closed" };
    db.sqlite.prepare("SELECT 1").get();
    return { ok: true, detail: "open" };
  } catch (err) {
    return { ok: false, detail: `not answering: ${(err as Error).message}` };
  }
}

export function checkCertificate(cert: CertificateInfo, revoked: boolean, now: Date): Check {
  if (revoked) return { ok: false, detail: `revoked (fingerprint ${cert.fingerprint256})` };
  if (now < cert.validFrom) return { ok: false, detail: `not valid before ${cert.validFrom.toISOString()}` };
  if (now >= cert.validTo) return { ok: false, detail: `expired ${cert.validTo.toISOString()}` };
  return { ok: true, detail: `valid until ${cert.validTo.toISOString()}` };
}

export function checkParent(status: PeerStatus, graceMs: number, now: Date): Check {
  const where = status.id ? `${status.id} at ${status.endpoint}` : status.endpoint;
  if (status.state === "connected") return { ok: true, detail: `connected to ${where}` };
  const last = status.lastContact ? Number(status.lastContact.seconds) * 1000 : undefined;
  if (last !== undefined && now.getTime() - last < graceMs) {
    return {
      ok: true,
      detail: `${status.state}, last contact with ${where} ${new Date(last).toISOString()}`,
    };
  }
  const why = status.lastError ? `: ${status.lastError}` : "";
  return {
    ok: false,
    detail: `${status.state} (${where})${last === undefined ? ", never reached" : `, last contact ${new Date(last).toISOString()}`}${why}`,
  };
}

export function readiness(s: ReadinessSources): Readiness {
  const now = s.now?.() ?? new Date();
  const cert = s.cert();
  const checks: Record<string, Check> = {
    database: checkDatabase(s.db),
    certificate: checkCertificate(
      cert,
      safely(() => s.isRevoked(cert.fingerprint256), false),
      now,
    ),
    parent: s.parent
      ? checkParent(s.parent(), s.parentGraceMs ?? DEFAULT_PARENT_GRACE_MS, now)
      : { ok: true, detail: "none (national center)" },
  };
  return { ready: Object.values(checks).every((c) => c.ok), checks };
}

function safely<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch {
    return fallback;
  }
}
