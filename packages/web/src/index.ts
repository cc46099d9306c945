export { addUserCommands, webBaseUrl } from "./cli.js";
export { addNotifyCommands } from "./notify/cli.js";
export type { NotifyEvent, NotifyEventSource, NotifyKind } from "./notify/events.js";
export { webListener } from "./parts.js";
export { Accounts, ROLES, type Role } from "./store/accounts.js";
export { AuditLog } from "./store/audit.js";
export { webMigrations } from "./store/migrations.js";
