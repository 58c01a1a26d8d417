import type { routerV1 } from "@strata/proto";

/** Short form of the router's decision for the `x-strata-route` header: `endpoint=e1; model=m; strategy=s`. */
export function routeHeader(route: routerV1.RouteResponse): string {
  return `endpoint=${route.endpoint?.id ?? ""}; model=${route.model}; strategy=${route.strategy}`;
}
