// The two ways a notification leaves the node: e-mail through the configured SMTP server
// (nodemailer), and a webhook: an HTTPS POST of JSON signed with HMAC-SHA256.
import { createHmac } from "node:crypto";
import type { NotificationsConfig } from "@lrs/shared";
import { createTransport, type Transporter } from "nodemailer";

/** The webhook's signature: hex HMAC-SHA256 of "<timestamp>.<body>" with the user's secret. */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
}

export interface Sender {
  /** Whether e-mail can be sent at all ([notifications] smtp_host). */
  readonly email: boolean;
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
  return {
    email: !!mail,
    async sendEmail(to, subject, text) {
      if (!mail) throw new Error("this node sends no e-mail: [notifications] smtp_host is not set");
      await mail.sendMail({ from: cfg.from, to, subject, text });
    },
    async sendWebhook(url, secret, body, headers) {
      const timestamp = Math.floor(Date.now() / 1000);
      const res = await fetch(url, {
        method: "POST",
        redirect: "manual",
        signal: AbortSignal.timeout(cfg.timeout),
        headers: {
          "content-type": "application/json",
          "user-agent": "LRS-notifications/1",
          "x-lrs-timestamp": String(timestamp),
          "x-lrs-signature": `sha256=${webhookSignature(secret, timestamp, body)}`,
          ...headers,
        },
        body,
      });
      if (res.status < 200 || res.status >= 300) {
        const text = (await res.text().catch(() => "")).slice(0, 200);
        throw new Error(`the webhook answered HTTP ${res.status}${text ? `: ${text}` : ""}`);
      }
      await res.body?.cancel().catch(() => undefined);
    },
    close() {
      mail?.close();
    },
  };
}
