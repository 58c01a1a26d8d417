import { StrataError } from "@strata/kit";
import { jobEndpoints } from "../jobs/job-model.js";

/** One request of a batch input file (OpenAI's request input object). */
export interface BatchLine {
  /** 1-based line number in the file. */
  line: number;
  customId: string;
  url: string;
  body: Record<string, unknown>;
}

const MAX_CUSTOM_ID_LENGTH = 512;

/**
 * Parses a batch input file line by line: `{"custom_id", "method": "POST", "url", "body"}` per line,
 * blank lines ignored. The first problem is a 400 naming its line. Only the envelope is checked here;
 * each body is validated when its request runs, and a bad one becomes that line's entry in the error
 * file, as OpenAI does, so one bad line does not hold up the rest.
 */
export function parseBatchJsonl(content: Buffer, maxRequests: number): BatchLine[] {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(content);
  } catch {
    throw invalid("The file is not valid UTF-8 text; batch input files are JSONL.");
  }
  const lines: BatchLine[] = [];
  const seen = new Map<string, number>();
  const rows = text.split("\n");
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index]!.trim();
    if (row === "") continue;
    const line = index + 1;
    if (lines.length >= maxRequests)
      throw invalid(`The file has more than ${maxRequests} requests; split it into several batches.`);
    const parsed = parseLine(row, line);
    const earlier = seen.get(parsed.customId);
    if (earlier !== undefined)
      throw invalid(
        `Line ${line}: the custom_id '${parsed.customId}' is also used on line ${earlier}; every request needs its own.`,
      );
    seen.set(parsed.customId, line);
    lines.push(parsed);
  }
  if (lines.length === 0) throw invalid("The file contains no requests; expected one JSON object per line.");
  return lines;
}

function parseLine(row: string, line: number): BatchLine {
  let json: unknown;
  try {
    json = JSON.parse(row);
  } catch (error) {
    throw invalid(`Line ${line}: not valid JSON (${(error as Error).message}).`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw invalid(`Line ${line}: each line must be a JSON object.`);
  const { custom_id: customId, method, url, body } = json as Record<string, unknown>;
  if (typeof customId !== "string" || customId.length === 0 || customId.length > MAX_CUSTOM_ID_LENGTH)
    throw invalid(`Line ${line}: 'custom_id' must be a string of 1 to ${MAX_CUSTOM_ID_LENGTH} characters.`);
  if (method !== "POST") throw invalid(`Line ${line}: 'method' must be "POST".`);
  if (typeof url !== "string" || !(url in jobEndpoints))
    throw invalid(
      `Line ${line}: 'url' must be one of ${Object.keys(jobEndpoints)
        .map((name) => `'${name}'`)
        .join(", ")}.`,
    );
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw invalid(`Line ${line}: 'body' must be a JSON object.`);
  if (typeof (body as { model?: unknown }).model !== "string" || !(body as { model: string }).model)
    throw invalid(`Line ${line}: 'body.model' must name a model.`);
  return { line, customId, url, body: body as Record<string, unknown> };
}

function invalid(message: string): StrataError {
  return new StrataError("invalid_request", message, { param: "file" });
}
