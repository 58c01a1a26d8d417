import type { IncomingMessage } from "node:http";
import { StrataError } from "@strata/kit";
import busboy from "busboy";

export interface Upload {
  /** Text fields of the form (`purpose`, ...). */
  fields: Record<string, string>;
  file: { filename: string; content: Buffer } | undefined;
}

/** Room for the form's other parts and boundaries on top of the file itself. */
const FORM_OVERHEAD_BYTES = 64 * 1024;

/**
 * Reads a multipart/form-data upload (OpenAI's `POST /v1/files`: a `file` part and text fields). The
 * file may be at most `maxFileBytes`; a larger one is refused with 413 as soon as that is known.
 */
export async function readUpload(request: IncomingMessage, maxFileBytes: number): Promise<Upload> {
  const type = request.headers["content-type"] ?? "";
  if (!/^multipart\/form-data/i.test(type))
    throw new StrataError(
      "unsupported_media_type",
      `Files are uploaded as multipart/form-data, not '${type || "no content type"}'.`,
    );
  const declared = Number(request.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxFileBytes + FORM_OVERHEAD_BYTES)
    throw tooLarge(maxFileBytes);
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: request.headers,
      limits: { fileSize: maxFileBytes, files: 1, fields: 16, fieldSize: 64 * 1024, parts: 32 },
    });
  } catch (error) {
    throw new StrataError(
      "invalid_request",
      `The multipart body cannot be read: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return new Promise<Upload>((resolve, reject) => {
    const upload: Upload = { fields: {}, file: undefined };
    const fail = (error: StrataError) => {
      request.unpipe(parser);
      request.resume(); // discard the rest so the error can be answered
      reject(error);
    };
    parser.on("field", (name, value) => {
      upload.fields[name] = value;
    });
    parser.on("file", (name, stream, info) => {
      if (name !== "file") {
        stream.resume();
        return;
      }
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("limit", () => fail(tooLarge(maxFileBytes)));
      stream.on("end", () => {
        upload.file = { filename: info.filename || "upload.jsonl", content: Buffer.concat(chunks) };
      });
    });
    parser.on("error", (error: Error) =>
      fail(
        new StrataError("invalid_request", `The multipart body cannot be read: ${error.message}`, {
          cause: error,
        }),
      ),
    );
    parser.on("close", () => resolve(upload));
    request.pipe(parser);
  });
}

function tooLarge(limit: number): StrataError {
  return new StrataError("payload_too_large", `The file is larger than the ${limit}-byte limit.`, {
    param: "file",
  });
}
