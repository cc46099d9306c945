// `lrs-<tier> notify …`: staff notifications from the node's machine — what was sent and what
// failed, trying failed ones again, and a test message sent right away through the configured SMTP
// server or the user's webhook.
import { configOption, createLogger, type NodeConfig, printJson, printTable, type Tier } from "@lrs/shared";
import type { Command } from "commander";
import { webBaseUrl, withWebDb } from "../cli.js";
import { Accounts } from "../store/accounts.js";
import type { Channel } from "./events.js";
import { Notifier } from "./notifier.js";
import { createSender } from "./send.js";
import { type Delivery, NotifyStore } from "./store.js";

function rowOf(d: Delivery): Record<string, string> {
  return {
    id: String(d.id),
    user: d.user,
    channel: d.channel,
    kind: d.kind,
    request: d.requestId ?? "",
    status: d.status,
    tries: String(d.attempts),
    when: d.sentAt ?? d.nextAt,
    error: d.lastError ?? "",
  };
}

export function addNotifyCommands(program: Command, tier: Tier): void {
  const notify = program
    .command("notify")
    .description("staff notifications (e-mail, webhooks): deliveries, retries, a test message");
  const withStore = <T>(configPath: string, fn: (s: NotifyStore, cfg: NodeConfig) => Promise<T> | T) =>
    withWebDb(tier, configPath, (db, cfg) => fn(new NotifyStore(db), cfg));

  notify
    .command("list")
    .description("list deliveries, newest first")
    .addOption(configOption())
    .option("--failing", "only those that failed or are waiting to be tried again")
    .option("--user <name>", "only this user's")
    .option("--limit <n>", "at most this many", "50")
    .option("--json", "print as JSON")
    .action((o: { config: string; failing?: boolean; user?: string; limit: string; json?: boolean }) =>
      withStore(o.config, (s) => {
        const limit = Number(o.limit);
        if (!Number.isInteger(limit) || limit < 1)
          throw new Error(`--limit: "${o.limit}" is not a positive number`);
        const list = s.list({ ...(o.user ? { user: o.user } : {}), failing: !!o.failing, limit });
        if (o.json) return printJson({ deliveries: list });
        if (list.length === 0)
          process.stdout.write(o.failing ? "no failing deliveries\n" : "no deliveries yet\n");
        printTable(list.map(rowOf));
      }),
    );

  notify
    .command("retry")
    .description("try failed deliveries again (the running node sends them at its next turn)")
    .addOption(configOption())
    .argument("[id]", "one delivery (default: every failed or failing one)")
    .option("--user <name>", "only this user's")
    .option("--json", "print as JSON")
    .action((id: string | undefined, o: { config: string; user?: string; json?: boolean }) =>
      withStore(o.config, (s) => {
        if (id !== undefined && !/^\d+$/.test(id)) throw new Error(`"${id}" is not a delivery id (a number)`);
        const ids = s.retry({ ...(id ? { id: Number(id) } : {}), ...(o.user ? { user: o.user } : {}) });
        if (id && ids.length === 0) {
          const d = s.get(Number(id));
          throw new Error(d ? `delivery ${id} is ${d.status}: nothing to retry` : `no delivery ${id}`);
        }
        if (o.json) return printJson({ retried: ids });
        process.stdout.write(
          ids.length
            ? `${ids.length} deliver${ids.length === 1 ? "y" : "ies"} will be tried again: ${ids.join(", ")}\n`
            : "nothing to retry\n",
        );
      }),
    );

  notify
    .command("test")
    .description("send a user a test message now (e-mail through [notifications], or their webhook)")
    .addOption(configOption())
    .argument("<user>")
    .option("--channel <channel>", "email or webhook", "email")
    .option("--json", "print as JSON")
    .action((user: string, o: { config: string; channel: string; json?: boolean }) =>
      withWebDb(tier, o.config, async (db, cfg) => {
        const s = new NotifyStore(db);
        const accounts = new Accounts(db);
        if (o.channel !== "email" && o.channel !== "webhook")
          throw new Error(`--channel: "${o.channel}" is not email or webhook`);
        const id = s.queueTest(user, o.channel as Channel);
        const notifier = new Notifier({
          store: s,
          sender: createSender(cfg.notifications),
          cfg: cfg.notifications,
          node: { id: cfg.id, name: cfg.name },
          baseUrl: () => webBaseUrl(cfg),
          languageOf: (u) => accounts.language(u),
          log: createLogger("notify"),
        });
        const status = await notifier.deliver(s.get(id)!);
        await notifier.stop();
        const d = s.get(id)!;
        if (o.json) printJson({ delivery: d });
        else if (status === "sent")
          process.stdout.write(`sent a test ${o.channel} to ${d.target} (delivery ${id})\n`);
        if (status !== "sent")
          throw new Error(`the test ${o.channel} to ${d.target} failed: ${d.lastError} (delivery ${id})`);
      }),
    );
}
