import { StrataError } from "@strata/kit";
import { z } from "zod";
import { listJson } from "../admin/tenancy-json.js";
import type { AsyncHttpApi } from "../jobs/async-http-api.js";
import { newObjectId } from "../jobs/job-model.js";
import type { JobsMetrics } from "../jobs/jobs-metrics.js";
import { pageQuery } from "../jobs/list-json.js";
import { parseBatchJsonl } from "./batch-jsonl.js";
import { expiresAfterFromForm } from "./expires-after.js";
import { fileJson } from "./file-json.js";
import type { FileStore } from "./file-store.js";
import { readUpload } from "./multipart-upload.js";

/** Purposes OpenAI knows; this gateway keeps files for its Batch API only. */
const knownPurposes = new Set([
  "assistants",
  "assistants_output",
  "batch",
  "batch_output",
  "fine-tune",
  "fine-tune-results",
  "vision",
  "user_data",
  "evals",
]);

const listSchema = z
  .object({
    ...pageQuery(100, 10_000),
    order: z.enum(["asc", "desc"]).default("desc"),
    purpose: z.string().min(1).optional(),
  })
  .strict();

/** The upload form as the OpenAPI document shows it (readUpload and the handler check it). */
const uploadForm = z.object({
  file: z.file(),
  purpose: z.literal("batch"),
  "expires_after[anchor]": z.literal("created_at").optional(),
  "expires_after[seconds]": z.number().int().min(3_600).max(2_592_000).optional(),
});

export interface FilesRoutesDeps {
  files: FileStore;
  maxBytes: number;
  maxRequests: number;
  /** Uploads without `expires_after` expire this long after creation (0: never). */
  inputFilesMs: number;
  metrics: JobsMetrics;
}

/** OpenAI's Files API (`/v1/files`) for batch input and output files. */
export function registerFileRoutes(api: AsyncHttpApi, deps: FilesRoutesDeps): void {
  const { files } = deps;
  api
    .add(
      "POST",
      "/v1/files",
      { summary: "Upload a batch input file (JSONL)", form: uploadForm },
      async (request) => {
        const upload = await readUpload(request.request, deps.maxBytes);
        const purpose = upload.fields.purpose;
        if (!purpose)
          throw new StrataError("invalid_request", "Missing required parameter: 'purpose'.", {
            param: "purpose",
          });
        if (purpose !== "batch") {
          const why = knownPurposes.has(purpose)
            ? "is not supported by this gateway"
            : "is not a file purpose";
          throw new StrataError(
            "invalid_request",
            `Invalid value for 'purpose': '${purpose}' ${why}; use 'batch'.`,
            {
              param: "purpose",
            },
          );
        }
        if (!upload.file)
          throw new StrataError("invalid_request", "Missing required parameter: 'file'.", { param: "file" });
        const expiresAfter = expiresAfterFromForm(upload.fields);
        const lines = parseBatchJsonl(upload.file.content, deps.maxRequests);
        const stored = await files.insert({
          id: newObjectId("file-"),
          tenantId: request.auth.tenantId,
          purpose: "batch",
          filename: upload.file.filename.slice(0, 255),
          content: upload.file.content,
          lineCount: lines.length,
          expiresAfterMs: expiresAfter ? expiresAfter.seconds * 1000 : deps.inputFilesMs || undefined,
        });
        deps.metrics.files.inc();
        return { body: fileJson(stored) };
      },
    )
    .add("GET", "/v1/files", { summary: "List files", query: listSchema }, async (request) => {
      const query = request.queryAs(listSchema);
      return { body: listJson(await files.list(request.auth.tenantId, query), fileJson) };
    })
    .add("GET", "/v1/files/:id", { summary: "Get a file" }, async (request) => ({
      body: fileJson(await files.get(request.auth.tenantId, request.params.id!)),
    }))
    .add("DELETE", "/v1/files/:id", { summary: "Delete a file" }, async (request) => {
      await files.delete(request.auth.tenantId, request.params.id!);
      return { body: { id: request.params.id!, object: "file", deleted: true } };
    })
    .add(
      "GET",
      "/v1/files/:id/content",
      { summary: "Download a file's content", produces: "application/octet-stream" },
      async (request) => {
        const { file, content } = await files.content(request.auth.tenantId, request.params.id!);
        request.response.writeHead(200, {
          "content-type": "application/octet-stream",
          "content-length": content.length,
          "content-disposition": `attachment; filename="${file.filename.replaceAll('"', "")}"`,
        });
        request.response.end(content);
        return undefined;
      },
    );
}
