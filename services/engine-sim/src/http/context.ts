import type { Registry } from "prom-client";
import type { EngineSimOptions } from "../config.js";
import type { RealTimeDriver } from "../engine/driver.js";
import type { FaultInjector } from "../faults/fault-injector.js";
import type { OutputPlanner } from "../generation/output-plan.js";
import type { TgiMetrics } from "../metrics/tgi-metrics.js";
import type { EngineModel } from "../model/scheduler.js";
import type { Tokenizer } from "../model/tokenizer.js";

/** Everything a route handler needs, built once by startEngineSim(). */
export interface EngineContext {
  readonly options: EngineSimOptions;
  readonly tokenizer: Tokenizer;
  readonly planner: OutputPlanner;
  readonly model: EngineModel;
  readonly driver: RealTimeDriver;
  readonly registry: Registry;
  readonly tgi: TgiMetrics | undefined;
  /** Injected failures (tests of retries, breakers and timeouts in front of the engine). */
  readonly faults: FaultInjector;
  readonly startedAtSeconds: number;
  /** Generation requests in flight (TGI's max_concurrent_requests applies to it). */
  activeGenerations: number;
  closing: boolean;
}

export const TGI_VERSION = "3.3.6";
