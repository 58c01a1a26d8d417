import type { Logger } from "@strata/kit";
import type { KubeClient } from "./kube-client.js";
import { type ResourceType, resourceTypes } from "./resource-types.js";

interface ApiResourceList {
  resources?: Array<{ name: string }>;
}

/**
 * Whether the cluster serves an optional kind. Polled, not asked per reconcile: when the Prometheus
 * Operator is installed (or removed) later, `onChange` requeues every ModelDeployment so their
 * ServiceMonitors appear (or stop being applied) without anyone editing them.
 */
export class ApiDiscovery {
  private available = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: Pick<KubeClient, "discover">,
    private readonly type: ResourceType,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    private readonly onChange: (available: boolean) => void,
  ) {}

  get isAvailable(): boolean {
    return this.available;
  }

  async start(): Promise<void> {
    await this.check();
    this.timer = setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async check(): Promise<void> {
    try {
      const list = await this.client.discover<ApiResourceList>(`/apis/${this.type.apiVersion}`);
      const available = list?.resources?.some((resource) => resource.name === this.type.plural) ?? false;
      if (available === this.available) return;
      this.available = available;
      this.logger.info({ kind: this.type.kind, available }, "optional API availability changed");
      this.onChange(available);
    } catch (error) {
      // Keep the last answer: a discovery hiccup must not make the operator drop ServiceMonitors.
      this.logger.warn({ err: error, kind: this.type.kind }, "API discovery failed");
    }
  }
}

export function serviceMonitorDiscovery(
  client: Pick<KubeClient, "discover">,
  intervalMs: number,
  logger: Logger,
  onChange: (available: boolean) => void,
): ApiDiscovery {
  return new ApiDiscovery(client, resourceTypes.serviceMonitor, intervalMs, logger, onChange);
}
