// What a delivery says: the e-mail's subject and text, and the webhook's JSON body, in the
// recipient's language (their choice in the web application, else [notifications]
// default_language), from the application's one message catalogue (src/messages), with dates and
// numbers in that language's form.
import i18next, { type TFunction } from "i18next";
import { en } from "../messages/en.js";
import type { Language } from "../messages/languages.js";
import { zhHans } from "../messages/zh-Hans.js";
import type { NotifyEvent } from "./events.js";
import type { Delivery } from "./store.js";

const i18n = i18next.createInstance();
void i18n.init({
  fallbackLng: "en",
  resources: { en: { translation: en }, "zh-Hans": { translation: zhHans } },
  interpolation: { escapeValue: false },
  initAsync: false,
});

export interface NodeRef {
  id: string;
  name: string;
}

/** Words for one language: the catalogue's texts and the locale's dates and numbers. */
function wordsFor(lang: Language) {
  const t: TFunction = i18n.getFixedT(lang);
  const when = new Intl.DateTimeFormat(lang, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "numeric",
    minute: "2-digit",
    timeZone: "UTC",
    timeZoneName: "short",
  });
  // A digest repeats the same words (kinds, states, partners): each is looked up once.
  const seen = new Map<string, string>();
  return {
    t: (key: string, o: Record<string, unknown> = {}) => {
      const k = `${key}\u0000${JSON.stringify(o)}`;
      const known = seen.get(k);
      if (known !== undefined) return known;
      const text = t(key, o) as string;
      seen.set(k, text);
      return text;
    },
    date: (iso: string) => {
      const d = new Date(iso);
      return Number.isNaN(d.getTime()) ? iso : when.format(d);
    },
  };
}
type Words = ReturnType<typeof wordsFor>;

/** The event's sentence: a lending request's is the catalogue's; others are the node's own note. */
function sentence(e: NotifyEvent, w: Words): string {
  if (e.kind !== "lending_request") return e.text;
  const text = w.t("mail.asksToBorrow", { partner: e.partner || w.t("mail.aLibrary") });
  return e.note ? w.t("mail.withNote", { text, note: e.note }) : text;
}

/** One event in a few words ("New lending request: <title>"), as the webhook's `summary`. */
function headline(e: NotifyEvent, w: Words): string {
  return w.t("mail.headline", { kind: w.t(`mail.kind.${e.kind}`), title: e.title || w.t("mail.noTitle") });
}

function eventLines(e: NotifyEvent, baseUrl: string, w: Words): string[] {
  const partner = e.partner
    ? w.t(e.role === "lender" ? "mail.fromBorrower" : "mail.fromLender", { partner: e.partner })
    : "";
  const state = w.t(`status.${e.state}`, { defaultValue: e.state.replaceAll("_", " ") });
  return [
    headline(e, w),
    `  ${sentence(e, w)}`,
    `  ${w.t("mail.now", {
      request: w.t(e.role === "lender" ? "mail.lending" : "mail.borrowing", { id: e.requestId }),
      partner,
      state,
      at: w.date(e.at),
    })}`,
    `  ${baseUrl}/requests/${encodeURIComponent(e.requestId)}`,
  ];
}

function subjectOf(d: Delivery, node: NodeRef, w: Words): string {
  if (d.kind === "test") return w.t("mail.testSubject", { node: node.name });
  if (d.kind === "digest") return w.t("mail.digestSubject", { node: node.name, count: d.events.length });
  const e = d.events[0]!;
  return w.t("mail.subject", {
    node: node.name,
    kind: w.t(`mail.kind.${e.kind}`),
    title: e.title || e.requestId,
  });
}

/** The e-mail of a delivery, in `lang`. */
export function emailOf(
  d: Delivery,
  node: NodeRef,
  baseUrl: string,
  lang: Language = "en",
): { subject: string; text: string } {
  const w = wordsFor(lang);
  const footer = [
    "",
    "--",
    w.t("mail.footer", { name: node.name, id: node.id }),
    w.t("mail.choose", { url: `${baseUrl}/notifications` }),
  ];
  const subject = subjectOf(d, node, w);
  if (d.kind === "test")
    return { subject, text: [w.t("mail.testText", { user: d.user, node: node.name }), ...footer].join("\n") };
  if (d.kind === "digest")
    return {
      subject,
      text: [
        w.t("mail.digestIntro", { count: d.events.length }),
        "",
        ...d.events.flatMap((e) => [...eventLines(e, baseUrl, w), ""]),
        ...footer,
      ].join("\n"),
    };
  return { subject, text: [...eventLines(d.events[0]!, baseUrl, w), ...footer].join("\n") };
}

/** The webhook's JSON body of a delivery (documented in docs/notifications.md), its words in `lang`. */
export function webhookBodyOf(
  d: Delivery,
  node: NodeRef,
  baseUrl: string,
  sentAt: Date,
  lang: Language = "en",
): string {
  const w = wordsFor(lang);
  return JSON.stringify({
    delivery: d.id,
    kind: d.kind,
    node: { id: node.id, name: node.name },
    user: d.user,
    sentAt: sentAt.toISOString(),
    language: lang,
    subject: subjectOf(d, node, w),
    events: d.events.map((e) => ({
      ...e,
      summary: headline(e, w),
      sentence: sentence(e, w),
      url: `${baseUrl}/requests/${encodeURIComponent(e.requestId)}`,
    })),
  });
}
