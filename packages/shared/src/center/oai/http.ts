/**
 * OAI-PMH over HTTP: GET with a query string, or POST with an
 * `application/x-www-form-urlencoded` body (spec 3.1.1), answered as `text/xml`.
 */
import type http from "node:http";
import type { Logger } from "../../log.js";
import type { OaiProvider } from "./provider.js";

/** Larger POST bodies are refused with HTTP 413 (an OAI-PMH request is a few short arguments). */
export const MAX_OAI_REQUEST_BYTES = 16 * 1024;

function argsOf(params: URLSearchParams): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [k, v] of params) out.set(k, [...(out.get(k) ?? []), v]);
  return out;
}

async function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_OAI_REQUEST_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** The handler of a listener's OAI-PMH path; `baseUrl` gives the URL the provider names itself by. */
export function oaiHttpHandler(
  provider: OaiProvider,
  log: Logger,
  onRequest?: (ms: number, failed: boolean) => void,
): (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void> {
  return async (req, res) => {
    const started = performance.now();
    const url = new URL(req.url ?? "/", `http://${req.headers.host ?? "localhost"}`);
    const baseUrl = `${url.protocol}//${url.host}${url.pathname}`;
    let params: URLSearchParams;
    if (req.method === "GET" || req.method === "HEAD") {
      params = url.searchParams;
    } else if (req.method === "POST") {
      const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
      if (type !== "application/x-www-form-urlencoded") {
        res.writeHead(415, { "content-type": "text/plain; charset=utf-8" });
        res.end("OAI-PMH requests by POST are application/x-www-form-urlencoded\n");
        return;
      }
      const body = await readBody(req);
      if (body === undefined) {
        res.writeHead(413, { "content-type": "text/plain; charset=utf-8", connection: "close" });
        res.end(`request body over ${MAX_OAI_REQUEST_BYTES} bytes\n`);
        return;
      }
      params = new URLSearchParams(body);
    } else {
      res.writeHead(405, { allow: "GET, POST", "content-type": "text/plain; charset=utf-8" });
      res.end("OAI-PMH is GET or POST\n");
      return;
    }
    try {
      const out = provider.answer(argsOf(params), baseUrl);
      res.writeHead(200, { "content-type": "text/xml; charset=utf-8" });
      res.end(req.method === "HEAD" ? undefined : out.xml);
      onRequest?.(performance.now() - started, false);
    } catch (err) {
      log.error({ err }, "OAI-PMH request failed");
      res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
      res.end("the repository failed to answer; see its log\n");
      onRequest?.(performance.now() - started, true);
    }
  };
}
