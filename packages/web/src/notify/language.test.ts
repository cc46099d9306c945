// A person's language follows their account: chosen in the web application (POST /api/language,
// as the language picker does), returned with the session, and used for their notifications — a
// test message to their webhook comes in Simplified Chinese once they chose it.
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Standalone, startStandalone } from "../standalone.test-util.js";

let app: Standalone;
let receiver: Server;
let hookUrl = "";
const bodies: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      bodies.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
  hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  app = await startStandalone();
}, 60_000);

afterAll(async () => {
  await new Promise<void>((r) => receiver?.close(() => r()));
  await app?.close();
});

async function signIn(name: string) {
  const password = "a long enough password 2";
  await app.accounts.setPasswordWithLink(app.accounts.add(name, "staff"), password);
  const login = await fetch(`${app.url}/api/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name, password }),
  });
  const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0]!;
  const { csrf } = (await login.json()) as { csrf: string };
  return async (path: string, body?: unknown) => {
    const res = await fetch(`${app.url}${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: {
        cookie,
        ...(body === undefined ? {} : { "content-type": "application/json", "x-csrf-token": csrf }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
}

describe("a person's language", () => {
  it("is kept with the account and writes their notifications", async () => {
    const call = await signIn("li");
    expect((await call("/api/session")).body.language).toBeNull();
    const saved = await call("/api/notifications", {
      email: "",
      webhookUrl: hookUrl,
      mode: "each",
      subscriptions: [],
    });
    expect(saved.status).toBe(200);
    // No language chosen: the node's default (English).
    await call("/api/notifications/test", { channel: "webhook" });
    expect(bodies.at(-1)).toMatchObject({ language: "en", subject: "[Member M] Test notification" });

    expect((await call("/api/language", { language: "zh-Hans" })).body).toEqual({ language: "zh-Hans" });
    expect((await call("/api/session")).body.language).toBe("zh-Hans");
    const sent = await call("/api/notifications/test", { channel: "webhook" });
    expect((sent.body.delivery as { status: string }).status).toBe("sent");
    expect(bodies.at(-1)).toMatchObject({ language: "zh-Hans", subject: "[Member M] 测试通知" });

    const bad = await call("/api/language", { language: "fr" });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('no language "fr" (one of en, zh-Hans)');
  });
});
