// The languages of the message catalogue: the web application's picker offers them, an account
// keeps one, and notifications are written in it.
export const LANGUAGES = [
  { code: "en", label: "English" },
  { code: "zh-Hans", label: "简体中文" },
] as const;
export type Language = (typeof LANGUAGES)[number]["code"];

export function isLanguage(s: unknown): s is Language {
  return LANGUAGES.some((l) => l.code === s);
}
