// The signed-in user, shared by every page.
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Role, SessionInfo } from "./api.js";

export const SessionContext = createContext<{
  session: SessionInfo;
  signOut: () => void;
} | null>(null);

export function useSession(): SessionInfo {
  const s = useContext(SessionContext);
  if (!s) throw new Error("no session");
  return s.session;
}

const RANK: Record<Role, number> = { viewer: 0, staff: 1, admin: 2 };
export const can = (s: SessionInfo, need: Role): boolean => RANK[s.role] >= RANK[need];
