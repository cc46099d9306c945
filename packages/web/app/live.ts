// Live updates: one EventSource per page on /api/events; views subscribe and reload what they show.
import { useEffect, useState } from "preact/hooks";

type Listener = () => void;
const listeners = new Set<Listener>();
const stateListeners = new Set<(ok: boolean) => void>();
let source: EventSource | undefined;
let connected = false;

function ensure(): void {
  if (source) return;
  source = new EventSource("/api/events");
  source.addEventListener("ill", () => {
    for (const l of listeners) l();
  });
  source.onopen = () => setConnected(true);
  source.onerror = () => setConnected(false);
}

function setConnected(ok: boolean): void {
  connected = ok;
  for (const l of stateListeners) l(ok);
}

export function stopLive(): void {
  source?.close();
  source = undefined;
}

/** Calls `onChange` whenever the node's ILL requests change (a transition, a new request). */
export function useLive(onChange: Listener): void {
  useEffect(() => {
    ensure();
    listeners.add(onChange);
    return () => {
      listeners.delete(onChange);
    };
  }, [onChange]);
}

export function useLiveState(): boolean {
  const [ok, setOk] = useState(connected);
  useEffect(() => {
    ensure();
    stateListeners.add(setOk);
    return () => {
      stateListeners.delete(setOk);
    };
  }, []);
  return ok;
}
