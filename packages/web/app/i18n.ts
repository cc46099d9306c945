// The one message catalogue (src/messages/*.ts; the server's notifications use it too) through
// i18next, and dates, numbers and money in the user's locale through Intl.
import i18next from "i18next";
import { formatAmount } from "../../shared/src/fees/money.js";
import { en } from "../src/messages/en.js";
import { isLanguage, type Language } from "../src/messages/languages.js";

export { LANGUAGES, type Language } from "../src/messages/languages.js";

const STORE_KEY = "lrs.language";

/** The language picked in this browser, if one was. */
export function pickedLanguage(): Language | undefined {
  const stored = localStorage.getItem(STORE_KEY);
  return isLanguage(stored) ? stored : undefined;
}

function initialLanguage(): Language {
  const stored = pickedLanguage();
  if (stored) return stored;
  return navigator.languages.some((l) => l.toLowerCase().startsWith("zh")) ? "zh-Hans" : "en";
}

/** English is in the first page's bundle (every text falls back to it); another language is loaded when chosen. */
async function loadCatalogue(lang: Language): Promise<void> {
  if (lang === "en" || i18next.hasResourceBundle(lang, "translation")) return;
  const { zhHans } = await import("../src/messages/zh-Hans.js");
  i18next.addResourceBundle(lang, "translation", zhHans);
}

export async function initI18n(): Promise<void> {
  const lng = initialLanguage();
  await i18next.init({
    lng,
    fallbackLng: "en",
    resources: { en: { translation: en } },
    partialBundledLanguages: true,
    interpolation: { escapeValue: false },
    returnNull: false,
  });
  await loadCatalogue(lng);
  await i18next.changeLanguage(lng);
  document.documentElement.lang = i18next.language;
}

export async function setLanguage(lang: Language): Promise<void> {
  localStorage.setItem(STORE_KEY, lang);
  await loadCatalogue(lang);
  await i18next.changeLanguage(lang);
  document.documentElement.lang = lang;
}

export const t = (key: string, options?: Record<string, unknown>): string =>
  i18next.t(key, options ?? {}) as string;
export const language = (): string => i18next.language;

/** A state name in words (the machine's name when the catalogue has none). */
export const statusText = (s: string): string =>
  s ? t(`status.${s}`, { defaultValue: s.replaceAll("_", " ") }) : "";

export function formatDateTime(d: Date | undefined): string {
  if (!d || Number.isNaN(d.getTime())) return "";
  return new Intl.DateTimeFormat(language(), { dateStyle: "medium", timeStyle: "short" }).format(d);
}

export function formatDate(d: Date | undefined): string {
  if (!d || Number.isNaN(d.getTime())) return "";
  return new Intl.DateTimeFormat(language(), { dateStyle: "medium" }).format(d);
}

export function formatNumber(n: number | bigint): string {
  return new Intl.NumberFormat(language()).format(n);
}

export function formatBytes(n: number | bigint): string {
  return new Intl.NumberFormat(language(), {
    style: "unit",
    unit: "kilobyte",
    maximumFractionDigits: 1,
  }).format(Number(n) / 1000);
}

/** Money as ISO 18626 carries it: a decimal text and a currency code. */
export function formatMoney(value: string, currency: string): string {
  if (!value) return "";
  try {
    return new Intl.NumberFormat(language(), { style: "currency", currency }).format(Number(value));
  } catch {
    return `${value} ${currency}`;
  }
}

const DURATION_UNITS = [
  ["day", 86_400_000],
  ["hour", 3_600_000],
  ["minute", 60_000],
  ["second", 1_000],
] as const;

/** A duration in its largest whole unit, in the user's language ("3.5 days", "3.5天"). */
export function formatDuration(ms: number): string {
  const [unit, size] = DURATION_UNITS.find(([, size]) => ms >= size) ?? DURATION_UNITS[3];
  return new Intl.NumberFormat(language(), {
    style: "unit",
    unit,
    unitDisplay: "long",
    maximumFractionDigits: 1,
  }).format(ms / size);
}

/** An amount in the currency's minor unit (the ledger's cents), exactly, in the user's locale. */
export function formatMinor(minor: bigint | number, currency: string): string {
  return formatMoney(formatAmount(BigInt(minor), currency), currency);
}
