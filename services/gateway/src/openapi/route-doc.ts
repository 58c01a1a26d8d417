import type { z } from "zod";

/**
 * What the gateway's OpenAPI document says about a route. Every route gives one where it is
 * registered, so the document lists exactly the routes the gateway answers.
 */
export interface RouteDoc {
  summary: string;
  /** The JSON body the route reads, as the schema it validates it with. */
  body?: z.ZodType;
  /** A multipart/form-data body instead (file uploads); `z.file()` for a file part. */
  form?: z.ZodType;
  /** The query parameters the route reads. */
  query?: z.ZodType;
  /** Request headers the route reads, by name, with what they do. */
  headers?: Readonly<Record<string, string>>;
  /** The success status, when it is not 200. */
  status?: number;
  /** The success answer's media type, when it is not JSON (a file's content). */
  produces?: string;
}

/** Who may call a route: an API key, the admin credential, or anyone. */
export type RouteAuth = "api-key" | "admin" | "none";

/** A route as the document lists it: its full path with `:name` parameters. */
export interface DocumentedRoute {
  method: string;
  path: string;
  auth: RouteAuth;
  doc: RouteDoc;
}
