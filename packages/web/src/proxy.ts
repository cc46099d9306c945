// The browser's calls to the node's own Connect services: checked here (session, role, CSRF),
// then passed to the node as they are, over the node's own mutual-TLS connection. The node's
// services stay the one API; this only decides who may reach which method, and records changes.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { OutgoingHttpHeaders } from "node:http2";
import { HttpError, readBody } from "./http-util.js";
import type { NodeLink } from "./node-link.js";
import { METHOD_RULES, roleAllows } from "./roles.js";
import type { AuditLog } from "./store/audit.js";
import type { Session } from "./store/sessions.js";

/** A Connect request body larger than this is refused (uploads go through /api/copies). */
export const MAX_RPC_BODY = 1024 * 1024;
/** Of an audited call's request, this much is kept in the log. */
const DETAIL_CHARS = 2000;

// Not accept-encoding: the node would compress, and the body passes through as it is (uncompressed to the browser).
const PASSED_HEADERS = ["content-type", "connect-protocol-version", "connect-timeout-ms"];
const CONTENT_TYPES = /^application\/(connect\+)?(json|proto)\b/;

/** A Connect error as the protocol sends it for unary calls (connect-web reads code and message). */
export function connectError(res: ServerResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({ code, message });
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

export interface ProxyDeps {
  link: NodeLink;
  audit: AuditLog;
}

/** What an audited call was about: the request's id, if the body names one. */
function requestIdOf(body: unknown): string | null {
  if (!body || typeof body !== "object") return null;
  const b = body as Record<string, unknown>;
  for (const k of ["id", "requestId"]) if (typeof b[k] === "string" && b[k]) return b[k] as string;
  const r = b.request as Record<string, unknown> | undefined;
  return typeof r?.id === "string" ? r.id : null;
}

function describeCall(method: string, body: unknown): string {
  const b = (body ?? {}) as Record<string, unknown>;
  const verb =
    typeof b.action === "string" ? ` ${b.action}${typeof b.answer === "string" ? ` ${b.answer}` : ""}` : "";
  return `${method.replace(/^lrs\.v1\./, "")}${verb}`;
}

/** The call's body (cut to DETAIL_CHARS) and the reason staff gave for it (a split), for the log. */
function detailOf(body: unknown, reason: string | string[] | undefined): string | null {
  const why = typeof reason === "string" && reason ? `reason: ${decodeURIComponent(reason)}` : "";
  const what = body === undefined ? "" : JSON.stringify(body);
  return [why, what].filter(Boolean).join(" · ").slice(0, DETAIL_CHARS) || null;
}

export async function proxyRpc(
  deps: ProxyDeps,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  session: Session | undefined,
  csrfOk: boolean,
  remote: string,
): Promise<void> {
  const rule = METHOD_RULES[method];
  if (!rule)
    return connectError(res, 404, "unimplemented", `${method} is not available in the web application`);
  if (!session) return connectError(res, 401, "unauthenticated", "not signed in (or the session has ended)");
  if (req.method !== "POST") return connectError(res, 405, "unimplemented", "Connect calls are POST");
  if (!csrfOk)
    return connectError(
      res,
      403,
      "permission_denied",
      "the request carries no valid CSRF token (reload the page)",
    );
  if (!roleAllows(session.role, rule.role))
    return connectError(
      res,
      403,
      "permission_denied",
      `${session.user} is ${session.role}: ${method.split("/")[1]} needs the ${rule.role} role`,
    );
  const contentType = String(req.headers["content-type"] ?? "");
  if (!CONTENT_TYPES.test(contentType))
    return connectError(
      res,
      415,
      "invalid_argument",
      `content type "${contentType}" is not a Connect content type`,
    );

  let body: Buffer;
  try {
    body = await readBody(req, MAX_RPC_BODY);
  } catch (err) {
    if (err instanceof HttpError) return connectError(res, err.status, "resource_exhausted", err.message);
    throw err;
  }
  const headers: OutgoingHttpHeaders = { "content-length": body.length };
  for (const h of PASSED_HEADERS) if (req.headers[h] !== undefined) headers[h] = req.headers[h];
  headers["lrs-staff-user"] = session.user;

  const json = contentType.includes("json");
  let parsed: unknown;
  if (rule.changes && json && !contentType.includes("connect+")) {
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      parsed = undefined;
    }
  }
  const audit = (outcome: string, response?: unknown) => {
    if (!rule.changes) return;
    deps.audit.record({
      user: session.user,
      action: describeCall(method, parsed),
      requestId: requestIdOf(parsed) ?? requestIdOf(response),
      detail: detailOf(parsed, req.headers["x-lrs-reason"]),
      outcome,
      remote,
    });
  };

  let stream: Awaited<ReturnType<NodeLink["request"]>>;
  try {
    stream = await deps.link.request(`/${method}`, headers);
  } catch (err) {
    audit(`unavailable: ${(err as Error).message}`);
    return connectError(res, 503, "unavailable", `the node did not answer: ${(err as Error).message}`);
  }
  stream.end(body);
  const respond = await new Promise<{ status: number; type: string } | Error>((resolve) => {
    stream.once("response", (h) =>
      resolve({ status: Number(h[":status"]), type: String(h["content-type"] ?? "") }),
    );
    stream.once("error", (err) => resolve(err));
  });
  if (respond instanceof Error) {
    audit(`unavailable: ${respond.message}`);
    return connectError(res, 502, "unavailable", `the node's answer broke off: ${respond.message}`);
  }
  const streaming = respond.type.startsWith("application/connect+");
  if (!rule.changes || streaming) {
    res.writeHead(respond.status, { "content-type": respond.type, "cache-control": "no-store" });
    stream.pipe(res);
    if (rule.changes)
      stream.once("end", () => audit(respond.status === 200 ? "ok" : `http ${respond.status}`));
    return;
  }
  // An audited unary call: the answer is read whole, to record how it ended and which request it made.
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  const out = Buffer.concat(chunks);
  let answer: unknown;
  try {
    answer = respond.type.includes("json") ? JSON.parse(out.toString("utf8")) : undefined;
  } catch {
    answer = undefined;
  }
  if (respond.status === 200) audit("ok", answer);
  else {
    const e = (answer ?? {}) as { code?: string; message?: string };
    audit(`${e.code ?? `http ${respond.status}`}: ${e.message ?? ""}`.trim());
  }
  res.writeHead(respond.status, {
    "content-type": respond.type,
    "content-length": out.length,
    "cache-control": "no-store",
  });
  res.end(out);
}
