// How the browser reaches its node: sign-in and accounts under /api (the node's own Connect
// services under /rpc are rpc.ts's, loaded with the pages that call them), with the CSRF token.
import type { Language } from "../src/messages/languages.js";

export type Role = "admin" | "staff" | "viewer";

export interface NodeInfo {
  id: string;
  name: string;
  tier: "member" | "regional" | "national";
  region: string;
}

export interface SessionInfo {
  user: string;
  role: Role;
  csrf: string;
  /** The language the account keeps (null: none chosen yet). */
  language: Language | null;
  node: NodeInfo;
  dashboard?: string;
  /** The node shows the traffic dashboard's figures at /api/traffic (the national center). */
  traffic?: boolean;
}

let csrf = "";

export function setCsrf(token: string): void {
  csrf = token;
}

/** The token every change carries (rpc.ts sends it with each call). */
export const csrfToken = (): string => csrf;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** A JSON call to /api; throws ApiError with the server's message. */
export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(path, {
    method: init.method ?? "GET",
    credentials: "same-origin",
    headers: {
      ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
      ...(init.method && init.method !== "GET" ? { "x-csrf-token": csrf } : {}),
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
  if (!res.ok) throw new ApiError(res.status, String(body.error ?? res.statusText), body);
  return body as T;
}

/** The message a person should read from any failure. */
export function errorText(err: unknown): string {
  // A ConnectError (rpc.ts) carries the server's own words in rawMessage.
  if (err instanceof Error && "rawMessage" in err) return String(err.rawMessage);
  return err instanceof Error ? err.message : String(err);
}

/** Uploads a file with progress (XMLHttpRequest: fetch reports no upload progress). */
export function uploadFile(
  path: string,
  file: File,
  headers: Record<string, string>,
  onProgress: (fraction: number) => void,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("x-csrf-token", csrf);
    xhr.setRequestHeader("x-file-name", encodeURIComponent(file.name));
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      const body = (xhr.responseText ? JSON.parse(xhr.responseText) : {}) as Record<string, unknown>;
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, String(body.error ?? xhr.statusText), body));
    };
    xhr.onerror = () => reject(new ApiError(0, "the upload failed (network)"));
    xhr.send(file);
  });
}

/** Downloads through a POST (it is a charged, audited action) and saves it under the server's name. */
export async function downloadFile(path: string): Promise<string> {
  const res = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "x-csrf-token": csrf },
  });
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    throw new ApiError(res.status, String(body.error ?? res.statusText), body);
  }
  const disposition = res.headers.get("content-disposition") ?? "";
  const name = decodeURIComponent(/filename\*=UTF-8''([^;]+)/.exec(disposition)?.[1] ?? "copy");
  saveFile(name, await res.blob());
  return name;
}

/** Hands the browser a file to save (a download made in the page: a copy, a statement's CSV). */
export function saveFile(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
