// The ISO 18626 gateway's listener: HTTPS, POST of one XML message, its confirmation as the
// answer. Bodies are limited in size and time; every request gets an ISO answer (a GET a 405
// naming what to do), never a 5xx, and a body the gateway cannot take is answered as an ISO error.
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { ISO18626_XML_LIMITS } from "../../iso18626/xml-tree.js";
import type { Logger } from "../../log.js";
import { type GatewayAnswer, type GatewayInbound, type InboundCredentials, unreadable } from "./inbound.js";

export interface GatewayListenerOptions {
  /** host:port ("0.0.0.0:8443"; port 0: any free port). */
  listen: string;
  certPem: string;
  keyPem: string;
  inbound: GatewayInbound;
  log: Logger;
  /** Called once per message answered (traffic figures). */
  onAnswer?: (answer: GatewayAnswer, ms: number) => void;
}

/** Largest body taken, in bytes. */
export const MAX_BODY_BYTES = ISO18626_XML_LIMITS.maxChars;

function credentialsOf(req: {
  headers: Record<string, string | string[] | undefined>;
  socket: unknown;
}): InboundCredentials {
  const out: { basic?: { user: string; password: string }; certFingerprint?: string } = {};
  const auth = req.headers.authorization;
  if (typeof auth === "string" && auth.startsWith("Basic ")) {
    const decoded = Buffer.from(auth.slice(6), "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon > 0) out.basic = { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  const cert = (req.socket as TLSSocket).getPeerCertificate?.();
  if (cert && typeof cert.fingerprint256 === "string" && cert.fingerprint256 !== "")
    out.certFingerprint = cert.fingerprint256;
  return out;
}

/** The gateway listener; `start` resolves with its https URL (path /iso18626). */
export function gatewayListener(o: GatewayListenerOptions): {
  name: string;
  start(): Promise<string>;
  close(): Promise<void>;
} {
  let server: Server | undefined;
  const answer = (res: import("node:http").ServerResponse, status: number, xml: string) => {
    res.writeHead(status, {
      "content-type": "application/xml; charset=utf-8",
      "content-length": Buffer.byteLength(xml),
    });
    res.end(xml);
  };
  return {
    name: "iso18626",
    async start() {
      server = createServer(
        { cert: o.certPem, key: o.keyPem, requestCert: true, rejectUnauthorized: false },
        (req, res) => {
          const started = Date.now();
          if (req.method !== "POST") {
            res.writeHead(405, { allow: "POST", "content-type": "text/plain; charset=utf-8" });
            res.end("POST one ISO 18626 message (XML) to this URL\n");
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          let over = false;
          req.on("data", (c: Buffer) => {
            size += c.length;
            if (size > MAX_BODY_BYTES) over = true;
            else chunks.push(c);
          });
          req.on("error", () => res.destroy());
          req.on("end", async () => {
            let a: GatewayAnswer;
            try {
              if (over) {
                const value = `the message is ${size} bytes, over the limit of ${MAX_BODY_BYTES}`;
                o.log.warn({ size }, "ISO 18626 message refused: too large");
                a = unreadable(value);
              } else a = await o.inbound.receive(Buffer.concat(chunks), credentialsOf(req));
            } catch (err) {
              // A bug or the database: the partner is told to send it again, not given a 5xx.
              o.log.error({ err }, "ISO 18626 message could not be taken");
              a = unreadable("the gateway could not take the message now; send it again later");
            }
            answer(res, 200, a.xml);
            o.onAnswer?.(a, Date.now() - started);
          });
        },
      );
      server.requestTimeout = 30_000;
      server.headersTimeout = 10_000;
      server.keepAliveTimeout = 5_000;
      const s = server;
      const i = o.listen.lastIndexOf(":");
      const host = o.listen.slice(0, i).replace(/^\[|\]$/g, "");
      const port = Number(o.listen.slice(i + 1));
      await new Promise<void>((resolve, reject) => {
        s.once("error", reject);
        s.listen(port, host, () => resolve());
      });
      const addr = s.address() as AddressInfo;
      const h = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
      const url = `https://${h === "0.0.0.0" ? "127.0.0.1" : h}:${addr.port}/iso18626`;
      o.log.info({ url }, "ISO 18626 gateway listening");
      return url;
    },
    async close() {
      const s = server;
      server = undefined;
      if (!s) return;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}
