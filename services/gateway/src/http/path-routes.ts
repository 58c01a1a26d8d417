import { StrataError } from "@strata/kit";

/** A route of a small path router: `segments` of its pattern, `:name` for a parameter. */
export interface PathRoute {
  method: string;
  segments: string[];
}

export function splitPath(path: string): string[] {
  return path.split("/").filter((segment) => segment.length > 0);
}

/**
 * The route for `method` and `path`, with its decoded parameters. A path that exists under other
 * methods is a 405 naming them; no match at all is a 404 showing `shownPath`.
 */
export function matchRoute<R extends PathRoute>(
  routes: readonly R[],
  method: string,
  path: string,
  shownPath = path,
): { route: R; params: Record<string, string> } {
  const segments = splitPath(path);
  const allowed: string[] = [];
  for (const route of routes) {
    const params = matchSegments(route.segments, segments);
    if (!params) continue;
    if (route.method === method) return { route, params };
    allowed.push(route.method);
  }
  if (allowed.length > 0)
    throw new StrataError(
      "method_not_allowed",
      `Method ${method} is not allowed here; use ${allowed.join(" or ")}.`,
    );
  throw new StrataError("not_found", `Invalid URL (${method} ${shownPath}).`);
}

function matchSegments(pattern: string[], segments: string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let index = 0; index < pattern.length; index++) {
    const expected = pattern[index]!;
    const actual = segments[index]!;
    if (expected.startsWith(":")) {
      try {
        params[expected.slice(1)] = decodeURIComponent(actual);
      } catch {
        throw new StrataError("invalid_request", `The path segment '${actual}' is not valid URL encoding.`);
      }
    } else if (expected !== actual) return undefined;
  }
  return params;
}
