import { routerV1 } from "@strata/proto";
import type { RoutingOutcome } from "../scoring/strategy.js";

/** The one mapping between the wire's Outcome (Report, replica sync) and what strategies see. */
const toProto: Record<RoutingOutcome, routerV1.Outcome> = {
  success: routerV1.Outcome.SUCCESS,
  "upstream-error": routerV1.Outcome.UPSTREAM_ERROR,
  "connect-error": routerV1.Outcome.CONNECT_ERROR,
  cancelled: routerV1.Outcome.CANCELLED,
  timeout: routerV1.Outcome.TIMEOUT,
  unknown: routerV1.Outcome.UNSPECIFIED,
};

const fromProto = new Map(
  Object.entries(toProto).map(([outcome, value]) => [value, outcome as RoutingOutcome]),
);

/** A value this router's proto does not know (a newer caller) reads as "unknown". */
export function routingOutcome(outcome: routerV1.Outcome): RoutingOutcome {
  return fromProto.get(outcome) ?? "unknown";
}

export function protoOutcome(outcome: RoutingOutcome): routerV1.Outcome {
  return toProto[outcome];
}
