// Which staff role may make which call of the node's own services through the web application.
// A call not listed here is not reachable from the browser at all (enrollment, sync, federation
// hops); the node's own policy still applies behind this (the web application calls as the node).
import type { Role } from "./store/accounts.js";

export interface MethodRule {
  /** The least role that may make the call. */
  role: Role;
  /** Changes something: needs the CSRF token and goes to the audit log. */
  changes: boolean;
}

const read = (role: Role = "viewer"): MethodRule => ({ role, changes: false });
const change = (role: Role = "staff"): MethodRule => ({ role, changes: true });

export const METHOD_RULES: Readonly<Record<string, MethodRule>> = {
  // ILL at a member
  "lrs.v1.IllStaffService/ListRequests": read(),
  "lrs.v1.IllStaffService/ShowRequest": read(),
  "lrs.v1.IllStaffService/Borrow": change(),
  "lrs.v1.IllStaffService/Act": change(),
  "lrs.v1.IllStaffService/SetAutoResponder": change("admin"),
  // Downloading a copy charges it (the first time): staff work, audited.
  "lrs.v1.CopyStaffService/DownloadCopy": change(),
  "lrs.v1.CopyrightService/ListCopyrightCounts": read(),
  // Reciprocal borrowing: viewers see the lists; checking, lending, returns and credentials are staff's.
  "lrs.v1.VisitStaffService/ListVisits": read(),
  "lrs.v1.VisitStaffService/CheckCredential": change(),
  "lrs.v1.VisitStaffService/LendToVisitor": change(),
  "lrs.v1.VisitStaffService/ReturnFromVisitor": change(),
  "lrs.v1.VisitStaffService/ReceiveShipment": change(),
  "lrs.v1.VisitStaffService/IssueCredential": change(),
  "lrs.v1.VisitStaffService/BlockCredential": change(),
  // Search, every tier
  "lrs.v1.SearchService/Search": read(),
  "lrs.v1.SearchService/CheckAvailability": read(),
  // Acquisitions: the buy-or-borrow check reads the federation, it changes nothing.
  "lrs.v1.AcquisitionsService/CheckTitle": read(),
  "lrs.v1.AcquisitionsService/SetRetention": change(),
  // Orders: viewers see them; placing, receiving and cancelling are staff's.
  "lrs.v1.AcquisitionsService/ListOrders": read(),
  "lrs.v1.AcquisitionsService/PlaceOrder": change(),
  "lrs.v1.AcquisitionsService/ReceiveOrder": change(),
  "lrs.v1.AcquisitionsService/CancelOrder": change(),
  // The union catalog (centers); copying a record into the catalog is catalog work.
  "lrs.v1.CatalogService/GetCluster": read(),
  "lrs.v1.CatalogService/LocateRecord": read(),
  "lrs.v1.CatalogService/SplitCluster": change(),
  // ILL hops (centers)
  "lrs.v1.IllService/Trace": read(),
  // The node's state and administration
  "lrs.v1.AdminService/GetStatus": read(),
  "lrs.v1.AdminService/ListOutbox": read(),
  "lrs.v1.AdminService/RetryOutbox": change("admin"),
  "lrs.v1.AdminService/ListEnrollmentTokens": read("admin"),
  "lrs.v1.AdminService/CreateEnrollmentToken": change("admin"),
  "lrs.v1.AdminService/RevokeInstitution": change("admin"),
  "lrs.v1.DirectoryService/GetDirectory": read(),
  // Fees and traffic
  "lrs.v1.LedgerService/GetStatement": read(),
  "lrs.v1.LedgerService/Settle": change("admin"),
  "lrs.v1.TrafficService/GetTraffic": read(),
};

const RANK: Record<Role, number> = { viewer: 0, staff: 1, admin: 2 };

/** Whether a user with `have` may do what needs `need`. */
export function roleAllows(have: Role, need: Role): boolean {
  return RANK[have] >= RANK[need];
}
