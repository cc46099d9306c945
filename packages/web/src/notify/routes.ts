// /api/notifications: a person's own settings, a test message, their digest now, and the
// deliveries (their own; every user's for admins) with retry.
import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpError, readJson, sendJson } from "../http-util.js";
import type { AuditLog } from "../store/audit.js";
import type { Session } from "../store/sessions.js";
import { CHANNELS, type Channel, NOTIFY_KINDS } from "./events.js";
import type { Notifier } from "./notifier.js";
import { type NotifyStore, webhookUrlProblem } from "./store.js";
import { WebhookHostRefused, type WebhookHosts } from "./webhook-hosts.js";

export interface NotifyParts {
  store: NotifyStore;
  notifier: Notifier;
  /** Whether the node can send e-mail ([notifications] smtp_host). */
  email: boolean;
  /** Whether this node has events to notify of. */
  events: boolean;
  digestTime: string;
  /** The hosts a webhook may call ([notifications] webhook_hosts). */
  webhookHosts: WebhookHosts;
}

type NeedSession = (change: boolean, need?: "viewer" | "staff" | "admin") => { session: Session };

export async function notifyRoutes(
  n: NotifyParts,
  audit: AuditLog,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  url: URL,
  requireSession: NeedSession,
): Promise<void> {
  const post = req.method === "POST";
  const remote = req.socket.remoteAddress ?? "";
  const record = (user: string, action: string, outcome = "ok") =>
    audit.record({ user, action, requestId: null, detail: null, outcome, remote });
  if (path === "/api/notifications" && req.method === "GET") {
    const { session } = requireSession(false);
    return sendJson(res, 200, {
      settings: n.store.settings(session.user),
      kinds: NOTIFY_KINDS,
      email: n.email,
      events: n.events,
      digestTime: n.digestTime,
      waiting: n.store.waiting(session.user),
      deliveries: n.store.list({ user: session.user, limit: 20 }),
    });
  }
  if (path === "/api/notifications" && post) {
    const { session } = requireSession(true);
    const body = await readJson(req);
    const subs = Array.isArray(body.subscriptions) ? body.subscriptions : [];
    const webhookUrl = String(body.webhookUrl ?? "").trim();
    if (webhookUrl && !webhookUrlProblem(webhookUrl))
      await n.webhookHosts.check(webhookUrl).catch((err: unknown) => {
        throw err instanceof WebhookHostRefused
          ? new HttpError(400, err.message, { field: "webhookUrl" })
          : err;
      });
    const settings = n.store.save(
      session.user,
      {
        email: String(body.email ?? ""),
        webhookUrl,
        mode: String(body.mode ?? "each"),
        subscriptions: subs.map((s) => ({
          kind: String((s as Record<string, unknown>).kind ?? ""),
          channel: String((s as Record<string, unknown>).channel ?? ""),
        })),
      },
      { rotateSecret: body.rotateSecret === true },
    );
    record(session.user, `notifications: ${settings.subscriptions.length} subscriptions, ${settings.mode}`);
    return sendJson(res, 200, { settings });
  }
  if (path === "/api/notifications/test" && post) {
    const { session } = requireSession(true);
    const channel = String((await readJson(req)).channel ?? "") as Channel;
    if (!CHANNELS.includes(channel)) throw new HttpError(400, `"channel" must be email or webhook`);
    const id = n.store.queueTest(session.user, channel);
    await n.notifier.tick();
    record(session.user, `notifications: test ${channel}`);
    return sendJson(res, 200, { delivery: n.store.get(id) });
  }
  if (path === "/api/notifications/digest" && post) {
    const { session } = requireSession(true);
    const ids = n.store.collectDigests({ user: session.user });
    await n.notifier.tick();
    record(session.user, "notifications: digest now");
    return sendJson(res, 200, { deliveries: ids.map((id) => n.store.get(id)) });
  }
  if (path === "/api/notifications/deliveries" && req.method === "GET") {
    const { session } = requireSession(false);
    const all = session.role === "admin" && url.searchParams.get("all") === "1";
    return sendJson(res, 200, {
      deliveries: n.store.list({
        ...(all ? {} : { user: session.user }),
        failing: url.searchParams.get("failing") === "1",
        limit: Number(url.searchParams.get("limit") ?? "100") || 100,
      }),
    });
  }
  const retry = /^\/api\/notifications\/deliveries\/(\d+)\/retry$/.exec(path);
  if (retry && post) {
    const { session } = requireSession(true);
    const id = Number(retry[1]);
    const d = n.store.get(id);
    if (!d || (d.user !== session.user && session.role !== "admin"))
      throw new HttpError(404, `no delivery ${id} of yours`);
    const ids = n.store.retry({ id });
    if (ids.length === 0) throw new HttpError(409, `delivery ${id} is ${d.status}: nothing to retry`);
    await n.notifier.tick();
    record(session.user, `notifications: retry delivery ${id}`);
    return sendJson(res, 200, { delivery: n.store.get(id) });
  }
  throw new HttpError(404, `no such page: ${req.method} ${path}`);
}
