// Staff notifications across nodes, with peers not written for LRS: a loan request arriving at a
// lender (north-b) reaches its staff by e-mail — through an SMTP server of the `smtp-server` package
// (nodemailer's own) — and by webhook, a plain node:http receiver that checks the HMAC-SHA256
// signature as the documentation says; the digest collects several events into one message; an
// SMTP server that refuses is tried again, shown as failing (CLI and web), and sent after a retry.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Federation, FederationSpec } from "@lrs/dev-env";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startFederation } from "./harness.js";
import { BOTH_REGIONS_ISBNS, borrow, NLM, writeItems } from "./ill-harness.js";

interface Mail {
  to: string;
  subject: string;
  text: string;
}
interface Hook {
  body: Record<string, unknown> & { kind: string; events: Array<Record<string, string>> };
  signed: boolean;
}

const mails: Mail[] = [];
const hooks: Hook[] = [];
/** While set, the SMTP server refuses every recipient (a 451, as a full or failing relay does). */
let refuseMail = false;
let smtp: SMTPServer;
let smtpPort = 0;
let receiver: Server;
let receiverUrl = "";
/** The webhook secret the lender's web application gave the user (set once subscribed). */
let secret = "";

let fed: Federation;
let destroy: () => Promise<void>;

function startSmtp(): Promise<void> {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onRcptTo(_address, _session, cb) {
      if (refuseMail) return cb(Object.assign(new Error("mailbox busy, try later"), { responseCode: 451 }));
      cb();
    },
    onData(stream, _session, cb) {
      simpleParser(stream)
        .then((m) => {
          mails.push({ to: (m.to as { text: string }).text, subject: m.subject ?? "", text: m.text ?? "" });
          cb();
        })
        .catch(cb);
    },
  });
  return new Promise((resolve) =>
    smtp.listen(0, "127.0.0.1", () => {
      smtpPort = (smtp.server.address() as AddressInfo).port;
      resolve();
    }),
  );
}

/** A webhook receiver as a library would write one: it checks the signature before it trusts the body. */
function startReceiver(): Promise<void> {
  receiver = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      const body = Buffer.concat(parts).toString("utf8");
      const timestamp = String(req.headers["x-lrs-timestamp"] ?? "");
      const expected = `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
      const given = String(req.headers["x-lrs-signature"] ?? "");
      const signed =
        given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
      hooks.push({ body: JSON.parse(body), signed });
      res.writeHead(signed ? 204 : 401).end();
    });
  });
  return new Promise((resolve) =>
    receiver.listen(0, "127.0.0.1", () => {
      receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/lrs-hook`;
      resolve();
    }),
  );
}

const spec = (): FederationSpec => ({
  national: { id: "nat", name: "Test National Center" },
  regions: [
    {
      region: "north",
      id: "north-rc",
      name: "North Test Center",
      members: [
        { id: "north-a", name: "North Library A (borrower)" },
        {
          id: "north-b",
          name: "North Library B",
          // No automatic responder: requests wait for staff. Retries come quickly for the test.
          extraConfig: `[notifications]
smtp_host = "127.0.0.1"
smtp_port = ${smtpPort}
smtp_security = "none"
from = "North B ILL <ill@north-b.example.org>"
interval = "200ms"
retry_delay = "300ms"
attempts = 2
webhook_hosts = ["127.0.0.1"]
`,
        },
      ],
    },
  ],
});

/** A signed-in session at a node's web application over plain HTTP (loopback). */
async function signIn(member: string) {
  const node = fed.node(member);
  const base = node.web!.replace(/\/$/, "");
  const res = await fetch(`${base}/api/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: node.webUser, password: node.webPassword }),
  });
  expect(res.status).toBe(200);
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0]!;
  const { csrf } = (await res.json()) as { csrf: string };
  const call = async <T>(path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const r = await fetch(`${base}${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: {
        cookie,
        ...(body === undefined ? {} : { "content-type": "application/json", "x-csrf-token": csrf }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: r.status, body: (await r.json()) as T };
  };
  return call;
}

type Call = Awaited<ReturnType<typeof signIn>>;
let lender: Call;
const subscribe = (mode: "each" | "digest") =>
  lender<{ settings: { webhookSecret: string } }>("/api/notifications", {
    email: "desk@north-b.example.org",
    webhookUrl: receiverUrl,
    mode,
    subscriptions: [
      { kind: "lending_request", channel: "email" },
      { kind: "lending_request", channel: "webhook" },
      { kind: "overdue", channel: "email" },
    ],
  });

beforeAll(async () => {
  await Promise.all([startSmtp(), startReceiver()]);
  ({ fed, destroy } = await startFederation(spec(), { webUsers: true }));
  const items = join(fed.dir, "north-b-items.csv");
  await writeItems("north-b", [NLM], items);
  const node = fed.node("north-b");
  await fed.cli(node, ["import", "--config", node.config, "--items", items, NLM]);
  await fed.waitSynced(90_000);
  lender = await signIn("north-b");
}, 600_000);

afterAll(async () => {
  await destroy?.();
  await new Promise<void>((r) => smtp?.close(() => r()));
  await new Promise<void>((r) => receiver?.close(() => r()));
});

describe("staff notifications", () => {
  it("a loan request arriving at the lender sends its staff an e-mail and a signed webhook", async () => {
    const saved = await subscribe("each");
    expect(saved.status).toBe(200);
    secret = saved.body.settings.webhookSecret;
    expect(secret.length).toBeGreaterThan(30);
    // Bad input is refused, naming what was wrong.
    const bad = await lender<{ error: string }>("/api/notifications", {
      email: "not an address",
      webhookUrl: "",
      mode: "each",
      subscriptions: [],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/"not an address" is not an e-mail address/);

    const req = await borrow(fed, "north-a", BOTH_REGIONS_ISBNS[0]!, "for the notifications test", "p-1");
    const mail = await eventually(
      async () => mails.find((m) => /New lending request/.test(m.subject)),
      (m) => m !== undefined,
      60_000,
    );
    expect(mail!.to).toBe("desk@north-b.example.org");
    expect(mail!.text).toContain("north-a asks to borrow this");
    const hook = await eventually(
      async () => hooks.find((h) => h.body.kind === "lending_request"),
      (h) => h !== undefined,
      30_000,
    );
    expect(hook!.signed).toBe(true);
    expect(hook!.body.events[0]).toMatchObject({
      kind: "lending_request",
      role: "lender",
      partner: "north-a",
    });
    expect(hook!.body.events[0]!.url).toMatch(/\/requests\//);
    // The borrower's own request id travels as the lender's request: the lender names it by its own id.
    expect(req.id).not.toBe("");
  }, 120_000);

  it("in digest mode collects the events into one message", async () => {
    expect((await subscribe("digest")).status).toBe(200);
    const before = mails.length;
    await borrow(fed, "north-a", BOTH_REGIONS_ISBNS[1]!, "digest one", "p-2");
    await borrow(fed, "north-a", BOTH_REGIONS_ISBNS[2]!, "digest two", "p-3");
    await eventually(
      async () => (await lender<{ waiting: number }>("/api/notifications")).body.waiting,
      (n) => n >= 2 * 2, // two events, by e-mail and by webhook
      60_000,
    );
    expect(mails.length).toBe(before);
    const sent = await lender<{ deliveries: Array<{ status: string; events: unknown[] }> }>(
      "/api/notifications/digest",
      {},
    );
    expect(sent.status).toBe(200);
    expect(sent.body.deliveries.map((d) => d.status)).toEqual(["sent", "sent"]);
    const digest = mails.at(-1)!;
    expect(mails.length).toBe(before + 1);
    expect(digest.subject).toMatch(/2 ILL notifications/);
    expect(digest.text).toContain("digest one");
    expect(digest.text).toContain("digest two");
    const hook = hooks.at(-1)!;
    expect(hook.signed).toBe(true);
    expect(hook.body.kind).toBe("digest");
    expect(hook.body.events).toHaveLength(2);
  }, 120_000);

  it("tries a refused e-mail again, shows it failing (CLI and web), and sends it after a retry", async () => {
    expect((await subscribe("each")).status).toBe(200);
    refuseMail = true;
    const before = mails.length;
    await borrow(fed, "north-a", BOTH_REGIONS_ISBNS[3]!, "while the relay refuses", "p-4");
    const node = fed.node("north-b");
    // attempts = 2: the first try and one more, then it is marked failed (the web page shows it).
    type Shown = { id: number; status: string; attempts: number; lastError: string; channel: string };
    const shown = async (failing: boolean) =>
      (
        await lender<{ deliveries: Shown[] }>(
          `/api/notifications/deliveries?all=1${failing ? "&failing=1" : ""}`,
        )
      ).body.deliveries;
    const web = await eventually(
      () => shown(true),
      (ds) => ds.some((d) => d.channel === "email" && d.status === "failed"),
      60_000,
    );
    const f = web.find((d) => d.channel === "email" && d.status === "failed")!;
    expect(f.attempts).toBe(2);
    expect(f.lastError).toMatch(/451|mailbox busy/);
    // The operator sees the same from the command line.
    const cli = JSON.parse(
      await fed.cli(node, ["notify", "list", "--failing", "--json", "--config", node.config]),
    ) as { deliveries: Shown[] };
    expect(cli.deliveries.find((d) => d.id === f.id)).toMatchObject({ status: "failed", attempts: 2 });
    expect(mails.length).toBe(before);

    refuseMail = false;
    const retried = JSON.parse(
      await fed.cli(node, ["notify", "retry", String(f.id), "--json", "--config", node.config]),
    ) as { retried: number[] };
    expect(retried.retried).toEqual([f.id]);
    await eventually(
      async () => mails.filter((m) => m.text.includes("while the relay refuses")).length,
      (n) => n === 1,
      30_000,
    );
    expect((await shown(false)).find((d) => d.id === f.id)?.status).toBe("sent");
    // A retry of what was sent is refused with the reason, and the command exits non-zero.
    await expect(fed.cli(node, ["notify", "retry", String(f.id), "--config", node.config])).rejects.toThrow(
      /is sent: nothing to retry/,
    );
  }, 120_000);
});
