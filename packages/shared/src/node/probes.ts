// The HTTP probes a platform calls on the metrics listener, without a client certificate:
// GET /healthz (live: the process answers) and GET /readyz (ready: node/readiness.ts). Both answer
// JSON; /readyz answers 503 with the check that failed when the node is not ready.
import type http from "node:http";
import type { Readiness } from "./readiness.js";

export const PROBE_PATHS = ["/healthz", "/readyz"] as const;

function json(res: http.ServerResponse, head: boolean, status: number, body: unknown): void {
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store" });
  res.end(head ? undefined : `${JSON.stringify(body)}\n`);
}

/** Answers a probe path; false when `path` is not one (the caller answers it). */
export function serveProbe(
  path: string,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  o: { id: string; ready: () => Readiness },
): boolean {
  if (!(PROBE_PATHS as readonly string[]).includes(path)) return false;
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { Allow: "GET, HEAD", "Content-Type": "text/plain; charset=utf-8" });
    res.end(`GET ${path}\n`);
    return true;
  }
  const head = req.method === "HEAD";
  if (path === "/healthz") {
    json(res, head, 200, { status: "alive", id: o.id });
    return true;
  }
  let r: Readiness;
  try {
    r = o.ready();
  } catch (err) {
    json(res, head, 503, { status: "not ready", id: o.id, error: (err as Error).message });
    return true;
  }
  const failed = Object.entries(r.checks)
    .filter(([, c]) => !c.ok)
    .map(([name]) => name);
  json(res, head, r.ready ? 200 : 503, {
    status: r.ready ? "ready" : "not ready",
    id: o.id,
    ...(failed.length ? { failed } : {}),
    checks: r.checks,
  });
  return true;
}
