import { anyOf, children, federation, type Policy, self } from "@lrs/shared";

/** Who may call what at the national center. Anything not listed is refused. */
export const nationalPolicy: Policy = {
  open: new Set(["lrs.v1.DirectoryService/GetCaCertificate", "lrs.v1.DirectoryService/Enroll"]),
  rules: {
    "grpc.health.v1.Health/Check": federation,
    "grpc.health.v1.Health/List": federation,
    "grpc.health.v1.Health/Watch": federation,
    "lrs.v1.DirectoryService/SignCertificate": children,
    // A regional center renews its own certificate, and relays its members' renewals.
    "lrs.v1.DirectoryService/RenewCertificate": children,
    "lrs.v1.DirectoryService/Register": children,
    "lrs.v1.DirectoryService/GetDirectory": anyOf(children, self),
    "lrs.v1.DirectoryService/WatchDirectory": anyOf(children, self),
    "lrs.v1.CatalogSyncService/PushChanges": children,
    "lrs.v1.CatalogService/GetCluster": anyOf(children, self),
    "lrs.v1.CatalogService/LocateRecord": anyOf(children, self),
    "lrs.v1.CatalogService/CopyRecord": anyOf(children, self),
    "lrs.v1.CatalogService/Export": self,
    "lrs.v1.CatalogService/SplitCluster": self,
    "lrs.v1.SearchService/Search": anyOf(children, self),
    "lrs.v1.SearchService/CheckAvailability": anyOf(children, self),
    // ILL between regions: regional centers hand up what crosses regions.
    "lrs.v1.IllService/Deliver": children,
    "lrs.v1.IllService/DeliverBatch": children,
    // Reciprocal borrowing: a regional center asks on behalf of a member for a reader of another region.
    "lrs.v1.VisitService/CheckVisitor": children,
    // A child restored from a backup asks for what was delivered to it since.
    "lrs.v1.IllService/Redeliver": children,
    "lrs.v1.IllService/BuildRota": anyOf(children, self),
    // Acquisitions: ILL demand for a title, for a regional center (the other regions are asked).
    "lrs.v1.AcquisitionsService/GetTitleDemand": anyOf(children, self),
    // Regional centers send their members' ILL demand up (the national collection reports).
    "lrs.v1.AcquisitionsService/PostDemand": children,
    "lrs.v1.IllService/Trace": anyOf(children, self),
    // Copies between regions: regional centers hand up what crosses regions.
    "lrs.v1.CopyTransferService/PushCopy": children,
    // Fees: regional centers post their members' charges and read their members' statements;
    // only this node's own CLI settles.
    "lrs.v1.LedgerService/PostEntries": children,
    "lrs.v1.LedgerService/GetStatement": anyOf(children, self),
    "lrs.v1.LedgerService/Settle": self,
    // Traffic: regional centers report their own and their members' figures; the CLI reads them.
    "lrs.v1.TrafficService/ReportTraffic": children,
    "lrs.v1.TrafficService/GetTraffic": self,
    "lrs.v1.TrafficService/WatchTraffic": self,
    "lrs.v1.AdminService/GetStatus": self,
    "lrs.v1.AdminService/ListOutbox": self,
    "lrs.v1.AdminService/RetryOutbox": self,
    "lrs.v1.AdminService/RenewOwnCertificate": self,
    "lrs.v1.AdminService/CreateEnrollmentToken": self,
    "lrs.v1.AdminService/ListEnrollmentTokens": self,
    "lrs.v1.AdminService/RevokeInstitution": self,
    // External ILL partners: only this node's own CLI changes them.
    "lrs.v1.PartnerAdminService/PutPartner": self,
    "lrs.v1.PartnerAdminService/ListPartners": self,
    "lrs.v1.PartnerAdminService/RemovePartner": self,
  },
};
