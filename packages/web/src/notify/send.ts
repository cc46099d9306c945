// The two ways a notification leaves the node: e-mail through the configured SMTP server
// (nodemailer), and a webhook: an HTTPS POST of JSON signed with HMAC-SHA256, made only to a host
// [notifications] webhook_hosts allows, on an address checked as the connection is made.
import { createHmac } from "node:crypto";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import type { NotificationsConfig } from "@lrs/shared";
import { createTransport, type Transporter } from "nodemailer";
import { WebhookHosts } from "./webhook-hosts.js";

/** The webhook's signature: hex HMAC-SHA256 of "<timestamp>.<body>" with the user's secret. */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
}

export interface Sender {
  /** Whether e-mail can be sent at all ([notifications] smtp_host). */
  readonly email: boolean;
  /** The hosts webhooks may call ([notifications] webhook_hosts). */
  readonly webhookHosts: WebhookHosts;
  sendEmail(to: string, subject: string, text: string): Promise<void>;
  sendWebhook(url: string, secret: string, body: string, headers: Record<string, string>): Promise<void>;
  close(): void;
}

export function createSender(cfg: NotificationsConfig): Sender {
  let mail: Transporter | undefined;
  if (cfg.smtp_host) {
    const tls = cfg.smtp_security === "tls";
    mail = createTransport({
      host: cfg.smtp_host,
      port: cfg.smtp_port ?? (tls ? 465 : 587),
      secure: tls,
      requireTLS: cfg.smtp_security === "starttls",
      ignoreTLS: cfg.smtp_security === "none",
      ...(cfg.smtp_user ? { auth: { user: cfg.smtp_user, pass: cfg.smtp_password ?? "" } } : {}),
      connectionTimeout: cfg.timeout,
      greetingTimeout: cfg.timeout,
      socketTimeout: cfg.timeout,
    });
  }
  const hosts = new WebhookHosts(cfg.webhook_hosts);
  return {
    email: !!mail,
    webhookHosts: hosts,
    async sendEmail(to, subject, text) {
      if (!mail) throw new Error("this node sends no e-mail: [notifications] smtp_host is not set");
      await mail.sendMail({ from: cfg.from, to, subject, text });
    },
    async sendWebhook(url, secret, body, headers) {
      const target = new URL(url);
      const host = target.hostname.replace(/^\[|\]$/g, "");
      hosts.checkHost(host);
      // A name is resolved by the connection's own lookup, which checks what it connects to.
      if (isIP(host)) hosts.checkAddress(host, host);
      const timestamp = Math.floor(Date.now() / 1000);
      const { status, text } = await post(target, body, hosts, cfg.timeout, {
        "content-type": "application/json",
        "user-agent": "LRS-notifications/1",
        "x-lrs-timestamp": String(timestamp),
        "x-lrs-signature": `sha256=${webhookSignature(secret, timestamp, body)}`,
        ...headers,
      });
      if (status < 200 || status >= 300)
        throw new Error(`the webhook answered HTTP ${status}${text ? `: ${text}` : ""}`);
    },
    close() {
      mail?.close();
    },
  };
}

/** One POST (no redirect followed); the answer's status and the start of its text. */
function post(
  url: URL,
  body: string,
  hosts: WebhookHosts,
  timeout: number,
  headers: Record<string, string>,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === "https:" ? httpsRequest : httpRequest)(
      url,
      {
        method: "POST",
        headers: { ...headers, "content-length": Buffer.byteLength(body) },
        lookup: hosts.lookup,
        timeout,
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          if (text.length < 200) text += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: text.slice(0, 200) }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`the webhook did not answer within ${timeout} ms`)));
    req.on("error", reject);
    req.end(body);
  });
}
