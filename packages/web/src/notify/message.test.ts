// Notifications are written from the application's one message catalogue, in the recipient's
// language, with dates and numbers in that language's form; the webhook's JSON carries the same words.
import { describe, expect, it } from "vitest";
import type { NotifyEvent } from "./events.js";
import { emailOf, webhookBodyOf } from "./message.js";
import type { Delivery } from "./store.js";

const node = { id: "north-b", name: "North Library B" };
const base = "https://ill.north-b.example.org";

const event: NotifyEvent = {
  kind: "lending_request",
  requestId: "req-7",
  role: "lender",
  title: "Moby Dick",
  partner: "north-a",
  state: "request_received",
  text: "north-a asks to borrow this (note: for a class)",
  note: "for a class",
  at: "2026-03-04T09:05:00.000Z",
};

function delivery(kind: Delivery["kind"], events: NotifyEvent[]): Delivery {
  return {
    id: 1,
    user: "ann",
    channel: "email",
    target: "ann@example.org",
    kind,
    requestId: null,
    events,
    status: "pending",
    attempts: 0,
    nextAt: "",
    lastError: null,
    createdAt: "",
    sentAt: null,
  };
}

describe("notification messages", () => {
  it("in English by default", () => {
    const m = emailOf(delivery("lending_request", [event]), node, base);
    expect(m.subject).toBe("[North Library B] New lending request: Moby Dick");
    expect(m.text.split("\n").slice(0, 4)).toEqual([
      "New lending request: Moby Dick",
      "  north-a asks to borrow this (note: for a class)",
      "  Lending request req-7, borrower north-a, now received from borrower (Mar 4, 2026, 9:05 AM UTC)",
      "  https://ill.north-b.example.org/requests/req-7",
    ]);
    expect(m.text).toContain("Choose what reaches you: https://ill.north-b.example.org/notifications");
  });

  it("in Simplified Chinese for a person who chose it, dates in Chinese form", () => {
    const m = emailOf(delivery("lending_request", [event]), node, base, "zh-Hans");
    expect(m.subject).toBe("[North Library B] 新的借出申请：Moby Dick");
    const lines = m.text.split("\n");
    expect(lines[1]).toBe("  north-a 申请借阅此书（附言：for a class）");
    expect(lines[2]).toBe("  借出申请 req-7，借入馆 north-a，当前状态：已收到申请（2026年3月4日 UTC 09:05）");
    expect(m.text).toContain("选择接收哪些通知：https://ill.north-b.example.org/notifications");
  });

  it("a digest counts its events in the language's words and numbers", () => {
    const two = emailOf(delivery("digest", [event, { ...event, requestId: "req-8" }]), node, base);
    expect(two.subject).toBe("[North Library B] 2 ILL notifications");
    expect(two.text.split("\n")[0]).toBe("2 events since the last digest:");
    // Thousands grouped as the language writes them (one large digest: each event costs a few lookups).
    const many = Array.from({ length: 1000 }, () => event);
    const zh = emailOf(delivery("digest", many), node, base, "zh-Hans");
    expect(zh.subject).toBe("[North Library B] 1,000 条馆际互借通知");
    expect(zh.text.split("\n")[0]).toBe("自上次摘要以来有 1,000 个事件：");
  });

  it("a test message", () => {
    expect(emailOf(delivery("test", []), node, base, "zh-Hans").subject).toBe("[North Library B] 测试通知");
    expect(emailOf(delivery("test", []), node, base).text).toMatch(
      /^This is a test of ann's notifications from North Library B: they reach you\./,
    );
  });

  it("the webhook's JSON names its language and carries the words besides the data", () => {
    const body = JSON.parse(
      webhookBodyOf(delivery("lending_request", [event]), node, base, new Date(0), "zh-Hans"),
    ) as Record<string, unknown> & { events: Array<Record<string, string>> };
    expect(body).toMatchObject({ language: "zh-Hans", subject: "[North Library B] 新的借出申请：Moby Dick" });
    expect(body.events[0]).toMatchObject({
      kind: "lending_request",
      partner: "north-a",
      summary: "新的借出申请：Moby Dick",
      sentence: "north-a 申请借阅此书（附言：for a class）",
      url: `${base}/requests/req-7`,
    });
  });
});
