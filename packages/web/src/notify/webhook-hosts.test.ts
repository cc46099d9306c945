// The webhook host allow-list ([notifications] webhook_hosts): a host the list does not name, and an
// address on this machine, a private network or link-local (cloud metadata), are refused when the
// webhook is saved (the page's answer names the host and the setting) and again when it is
// delivered, on the address the connection is made to (a name allowed by the list that resolves
// to loopback is refused: DNS rebinding gains nothing).
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Standalone, startStandalone } from "../standalone.test-util.js";
import { createSender } from "./send.js";
import { WebhookHosts } from "./webhook-hosts.js";

const cfg = {
  smtp_security: "none" as const,
  digest_time: "07:00",
  interval: 1000,
  attempts: 1,
  retry_delay: 1000,
  timeout: 2000,
  default_language: "en" as const,
};

let receiver: Server;
let port = 0;
let received = 0;
let app: Standalone;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      received++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
  port = (receiver.address() as { port: number }).port;
  app = await startStandalone();
}, 60_000);

afterAll(async () => {
  await new Promise<void>((r) => receiver?.close(() => r()));
  await app?.close();
});

describe("webhook hosts", () => {
  it("without the setting refuses loopback, private and link-local addresses, naming the setting", async () => {
    const any = new WebhookHosts([]);
    for (const [url, kind] of [
      ["https://127.0.0.1/x", "loopback"],
      ["https://10.1.2.3/x", "private"],
      ["https://192.168.0.7/x", "private"],
      ["https://172.20.0.1/x", "private"],
      ["https://169.254.169.254/latest/meta-data", "link-local"],
      ["https://[::1]/x", "loopback"],
      ["https://[fd00::1]/x", "private \\(unique local\\)"],
      ["https://[::ffff:10.0.0.1]/x", "private"],
      ["https://localhost/x", "loopback"],
    ] as const)
      await expect(any.check(url), url).rejects.toThrow(
        new RegExp(`is a ${kind} address: refused unless \\[notifications\\] webhook_hosts allows it`),
      );
    await expect(any.check("https://93.184.215.14/hook")).resolves.toBeUndefined();
  });

  it("with the setting calls only the hosts it names; an address or range there allows a private one", async () => {
    const list = new WebhookHosts(["hooks.example.org", "*.library.example", "10.1.2.0/24", "127.0.0.1"]);
    expect(() => list.checkHost("hooks.example.org")).not.toThrow();
    expect(() => list.checkHost("ill.library.example")).not.toThrow();
    expect(() => list.checkHost("evil.example.org")).toThrow(
      /the webhook host evil\.example\.org is not one this node calls: \[notifications\] webhook_hosts allows hooks\.example\.org/,
    );
    await expect(list.check("https://10.1.2.9/x")).resolves.toBeUndefined();
    await expect(list.check("https://10.1.3.9/x")).rejects.toThrow(/10\.1\.3\.9 is not one this node calls/);
    await expect(list.check("http://127.0.0.1:9/x")).resolves.toBeUndefined();
    // A name the list allows is still refused when it resolves to a reserved address the list does not hold.
    expect(() => list.checkAddress("hooks.example.org", "169.254.169.254")).toThrow(
      /hooks\.example\.org \(169\.254\.169\.254\) is a link-local address/,
    );
    expect(() => new WebhookHosts(["http://x/"])).toThrow(/is not a host name/);
  });

  it("checks the address at delivery: a name allowed whose address is not is refused on connecting", async () => {
    const byName = createSender({ ...cfg, webhook_hosts: ["localhost"] });
    await expect(byName.sendWebhook(`http://localhost:${port}/hook`, "s", "{}", {})).rejects.toThrow(
      /the webhook host localhost \((127\.0\.0\.1|::1)\) is a loopback address/,
    );
    expect(received).toBe(0);
    const refused = createSender({ ...cfg, webhook_hosts: [] });
    await expect(refused.sendWebhook(`http://127.0.0.1:${port}/hook`, "s", "{}", {})).rejects.toThrow(
      /127\.0\.0\.1 is a loopback address/,
    );
    const allowed = createSender({ ...cfg, webhook_hosts: ["localhost", "127.0.0.1", "::1"] });
    await allowed.sendWebhook(`http://localhost:${port}/hook`, "s", "{}", {});
    await allowed.sendWebhook(`http://127.0.0.1:${port}/hook`, "s", "{}", {});
    expect(received).toBe(2);
  });

  it("refuses saving a webhook the node would not call, naming the host and the setting", async () => {
    const token = app.accounts.add("hanna", "staff");
    await app.accounts.setPasswordWithLink(token, "a long enough password 1");
    const login = await fetch(`${app.url}/api/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "hanna", password: "a long enough password 1" }),
    });
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0]!;
    const { csrf } = (await login.json()) as { csrf: string };
    const save = (webhookUrl: string) =>
      fetch(`${app.url}/api/notifications`, {
        method: "POST",
        headers: { cookie, "content-type": "application/json", "x-csrf-token": csrf },
        body: JSON.stringify({ email: "", webhookUrl, mode: "each", subscriptions: [] }),
      });
    const res = await save("https://169.254.169.254/latest/meta-data");
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe(
      "the webhook host 169.254.169.254 is not one this node calls: [notifications] webhook_hosts allows 127.0.0.1",
    );
    expect((await save(`http://127.0.0.1:${port}/hook`)).status).toBe(200);
  });
});
