import { anyOf, children, federation, type Policy, parent, peerRegional, self } from "@lrs/shared";

/** Who may call what at a regional center. Anything not listed is refused. */
export const regionalPolicy: Policy = {
  open: new Set(["lrs.v1.DirectoryService/GetCaCertificate", "lrs.v1.DirectoryService/Enroll"]),
  rules: {
    "grpc.health.v1.Health/Check": federation,
    "grpc.health.v1.Health/List": federation,
    "grpc.health.v1.Health/Watch": federation,
    "lrs.v1.DirectoryService/Register": children,
    // A member renews its own certificate (relayed to the national center, the CA).
    "lrs.v1.DirectoryService/RenewCertificate": children,
    "lrs.v1.DirectoryService/GetDirectory": anyOf(children, self),
    "lrs.v1.DirectoryService/WatchDirectory": anyOf(children, self),
    "lrs.v1.CatalogSyncService/PushChanges": children,
    "lrs.v1.CatalogService/GetCluster": anyOf(children, self),
    "lrs.v1.CatalogService/LocateRecord": anyOf(children, self),
    "lrs.v1.CatalogService/CopyRecord": anyOf(children, self),
    "lrs.v1.CatalogService/Export": self,
    "lrs.v1.CatalogService/SplitCluster": self,
    "lrs.v1.SearchService/Search": anyOf(children, self, peerRegional),
    "lrs.v1.SearchService/CheckAvailability": anyOf(children, self, parent),
    // ILL: members hand their messages up, the national center hands down those for members here.
    "lrs.v1.IllService/Deliver": anyOf(children, parent),
    "lrs.v1.IllService/DeliverBatch": anyOf(children, parent),
    // A child restored from a backup asks for what was delivered to it since.
    "lrs.v1.IllService/Redeliver": children,
    "lrs.v1.IllService/BuildRota": anyOf(children, self),
    "lrs.v1.IllService/Trace": anyOf(children, self, parent),
    // Copies travel as the ILL messages do: members push their own, the national center those for members here.
    "lrs.v1.CopyTransferService/PushCopy": anyOf(children, parent),
    // A member posts its own charges (the relay checks it is the payer); they go on to the national center.
    "lrs.v1.LedgerService/PostEntries": children,
    // A member reads its own statement (this center asks the national center for it).
    "lrs.v1.LedgerService/GetStatement": anyOf(children, self),
    // Traffic: members report their figures here; the node's own CLI reads them.
    "lrs.v1.TrafficService/ReportTraffic": children,
    "lrs.v1.TrafficService/GetTraffic": self,
    "lrs.v1.TrafficService/WatchTraffic": self,
    // Acquisitions: ILL demand for a title (a member for itself; the national center for this region).
    "lrs.v1.AcquisitionsService/GetTitleDemand": anyOf(children, self, parent),
    // Reciprocal borrowing: a member checks a visiting reader's credential with the reader's home
    // library (here, or through the national center, which hands checks for members here down).
    "lrs.v1.VisitService/CheckVisitor": anyOf(children, parent),
    "lrs.v1.AdminService/GetStatus": self,
    "lrs.v1.AdminService/ListOutbox": self,
    "lrs.v1.AdminService/RetryOutbox": self,
    "lrs.v1.AdminService/RenewOwnCertificate": self,
    "lrs.v1.AdminService/CreateEnrollmentToken": self,
    "lrs.v1.AdminService/ListEnrollmentTokens": self,
  },
};
