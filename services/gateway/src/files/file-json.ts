import { unixSeconds } from "../jobs/job-model.js";
import type { StoredFile } from "./file-store.js";

/** OpenAI's File object. */
export function fileJson(file: StoredFile) {
  return {
    id: file.id,
    object: "file" as const,
    bytes: file.bytes,
    created_at: unixSeconds(file.createdAt),
    filename: file.filename,
    purpose: file.purpose,
    status: "processed" as const,
    expires_at: unixSeconds(file.expiresAt),
    status_details: null,
  };
}
