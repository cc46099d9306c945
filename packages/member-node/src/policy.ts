import { anyOf, federation, nobody, type Policy, parent, self } from "@lrs/shared";

/**
 * Who may call what at a member node. Its regional center will call it for
 * availability and lending (later issues add those rules); today only the
 * node's own CLI calls it. Anything not listed is refused.
 */
export const memberPolicy: Policy = {
  open: new Set(),
  rules: {
    "grpc.health.v1.Health/Check": federation,
    "grpc.health.v1.Health/List": federation,
    "grpc.health.v1.Health/Watch": federation,
    "lrs.v1.DirectoryService/GetDirectory": self,
    "lrs.v1.DirectoryService/WatchDirectory": self,
    "lrs.v1.SearchService/Search": self,
    "lrs.v1.SearchService/CheckAvailability": anyOf(parent, self),
    // Traffic figures: the node's own CLI (members report to their regional center, never the reverse).
    "lrs.v1.TrafficService/GetTraffic": self,
    "lrs.v1.TrafficService/WatchTraffic": self,
    // Every node serves the traffic service; no node is below a member to report to it.
    "lrs.v1.TrafficService/ReportTraffic": nobody,
    "lrs.v1.AdminService/GetStatus": self,
    "lrs.v1.AdminService/ListOutbox": self,
    "lrs.v1.AdminService/RetryOutbox": self,
    "lrs.v1.AdminService/RenewOwnCertificate": self,
    // ILL traffic for this member arrives from its regional center only.
    "lrs.v1.IllService/Deliver": parent,
    "lrs.v1.IllService/DeliverBatch": parent,
    "lrs.v1.IllStaffService/Borrow": self,
    "lrs.v1.IllStaffService/ListRequests": self,
    "lrs.v1.IllStaffService/ShowRequest": self,
    "lrs.v1.IllStaffService/Act": self,
    "lrs.v1.IllStaffService/SetAutoResponder": self,
    // Document delivery: staff upload and download; copies for this member come from its regional center.
    "lrs.v1.CopyStaffService/UploadCopy": self,
    "lrs.v1.CopyStaffService/DownloadCopy": self,
    "lrs.v1.CopyTransferService/PushCopy": parent,
    "lrs.v1.CopyrightService/ListCopyrightCounts": self,
    // The library's own statement, asked of its regional center for its staff (the web application).
    "lrs.v1.LedgerService/GetStatement": self,
    // Acquisitions: the staff's buy-or-borrow check (demand is counted at the centers).
    "lrs.v1.AcquisitionsService/CheckTitle": self,
    "lrs.v1.AcquisitionsService/SetRetention": self,
    "lrs.v1.AcquisitionsService/PlaceOrder": self,
    "lrs.v1.AcquisitionsService/ListOrders": self,
    "lrs.v1.AcquisitionsService/ReceiveOrder": self,
    "lrs.v1.AcquisitionsService/CancelOrder": self,
    // Reciprocal borrowing: the regional center asks the home library about its readers'
    // credentials; staff use the desk through the node's own certificate.
    "lrs.v1.VisitService/CheckVisitor": parent,
    "lrs.v1.VisitStaffService/IssueCredential": self,
    "lrs.v1.VisitStaffService/RotateSigningKey": self,
    "lrs.v1.VisitStaffService/BlockCredential": self,
    "lrs.v1.VisitStaffService/CheckCredential": self,
    "lrs.v1.VisitStaffService/LendToVisitor": self,
    "lrs.v1.VisitStaffService/ReturnFromVisitor": self,
    "lrs.v1.VisitStaffService/ReceiveShipment": self,
    "lrs.v1.VisitStaffService/ListVisits": self,
  },
};
