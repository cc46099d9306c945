export { openChildContextWithCopies, withCopyMigrations } from "./child-context.js";
export { CopyCorruptError, CopyRejectedError, CopyUnavailableError } from "./errors.js";
export {
  CHUNK_BYTES,
  commitFile,
  fileChunks,
  hashFile,
  removeFile,
  safeFileName,
  tooLarge,
  type VerifiedFile,
  type WriteVerifiedOptions,
  writeVerified,
  wrongType,
} from "./file.js";
export {
  ALLOWED_COPY_TYPES,
  COPY_MEDIA_TYPES,
  type CopyMediaType,
  describeHead,
  isCopyMediaType,
  SNIFF_BYTES,
  sniffCopyType,
} from "./media-type.js";
export { copyMigrations } from "./migrations.js";
export {
  copyChildSender,
  copyParentSenders,
  type PushCopyOptions,
  pushCopy,
  pushTimeoutMs,
} from "./sender.js";
export {
  COPY_KIND,
  type CopyAcceptance,
  type CopyRecord,
  type CopyRole,
  type CopyRoute,
  CopyStore,
  type CopyStoreOptions,
  checkTransfer,
  copyOutboxId,
  type ReceiveOptions,
} from "./store.js";
