import { Agent as HttpsAgent } from "node:https";
import { HttpMethod, IsomorphicFetchHttpLibrary, KubeConfig, RequestContext } from "@kubernetes/client-node";
import { isNotFound, kubeApiErrorFrom } from "./kube-api-error.js";
import type { KubeList, KubeObject } from "./kube-object.js";
import { type ResourceType, resourcePath } from "./resource-types.js";

export const fieldManager = "strata-operator";

export interface KubeClientOptions {
  /** Name the API server records for this client's writes (managedFields); the operator's by default. */
  fieldManager?: string;
  /** Called after every response; the operator counts API requests by verb and code with it. */
  onResponse?: (verb: string, statusCode: number) => void;
}

interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** Names the request in errors: "apply Deployment default/llama". */
  what: string;
}

/**
 * The operator's door to the API server. Authentication, TLS and exec credential plugins come from
 * @kubernetes/client-node's KubeConfig; bodies stay plain JSON both ways, so what the reconciler reads from
 * a GET, a LIST or a WATCH has the same shape (the library's typed models turn timestamps into Dates only
 * on some of those paths).
 */
export class KubeClient {
  private readonly http = new IsomorphicFetchHttpLibrary();
  private readonly server: string;
  private sharedAgent: HttpsAgent | undefined;
  private readonly fieldManager: string;

  /** A client for the cluster a kubeconfig document describes (tests and benchmarks get one as text). */
  static fromKubeconfig(text: string, options: KubeClientOptions = {}): KubeClient {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(text);
    return new KubeClient(kubeConfig, options);
  }

  constructor(
    readonly kubeConfig: KubeConfig,
    private readonly options: KubeClientOptions = {},
  ) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error("kubeconfig has no current cluster");
    this.server = cluster.server.replace(/\/+$/, "");
    this.fieldManager = options.fieldManager ?? fieldManager;
  }

  async get<T extends KubeObject>(
    type: ResourceType,
    namespace: string,
    name: string,
  ): Promise<T | undefined> {
    try {
      return await this.request<T>("GET", resourcePath(type, namespace, name), {
        what: `get ${type.kind} ${namespace}/${name}`,
      });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  list<T extends KubeObject>(
    type: ResourceType,
    namespace = "",
    labelSelector?: string,
  ): Promise<KubeList<T>> {
    return this.request<KubeList<T>>("GET", resourcePath(type, namespace), {
      query: { labelSelector },
      what: `list ${type.kind}`,
    });
  }

  create<T extends KubeObject>(type: ResourceType, object: T): Promise<T> {
    return this.request<T>("POST", resourcePath(type, object.metadata.namespace), {
      body: object,
      query: { fieldManager: this.fieldManager },
      what: `create ${type.kind} ${object.metadata.namespace}/${object.metadata.name}`,
    });
  }

  /** PUT with the object's resourceVersion: fails with 409 if someone else wrote it first. */
  replace<T extends KubeObject>(type: ResourceType, object: T): Promise<T> {
    const { namespace, name } = object.metadata;
    return this.request<T>("PUT", resourcePath(type, namespace, name), {
      body: object,
      query: { fieldManager: this.fieldManager },
      what: `replace ${type.kind} ${namespace}/${name}`,
    });
  }

  /**
   * Server-side apply as the operator's field manager. The API server merges only the fields in `object`
   * and skips the write entirely when they already hold these values, which makes reconciling idempotent.
   */
  apply<T extends KubeObject>(
    type: ResourceType,
    object: KubeObject,
    options: { force?: boolean; subresource?: "status" } = {},
  ): Promise<T> {
    const { namespace, name } = object.metadata;
    return this.request<T>("PATCH", resourcePath(type, namespace, name, options.subresource), {
      body: { apiVersion: type.apiVersion, kind: type.kind, ...object },
      contentType: "application/apply-patch+yaml",
      query: { fieldManager: this.fieldManager, force: options.force || undefined },
      what: `apply ${type.kind}${options.subresource ? `/${options.subresource}` : ""} ${namespace}/${name}`,
    });
  }

  /** JSON merge patch; with metadata.resourceVersion in the patch it is an optimistic-concurrency write. */
  mergePatch<T extends KubeObject>(
    type: ResourceType,
    namespace: string,
    name: string,
    patch: unknown,
    subresource?: "status" | "scale",
  ): Promise<T> {
    return this.request<T>("PATCH", resourcePath(type, namespace, name, subresource), {
      body: patch,
      contentType: "application/merge-patch+json",
      query: { fieldManager: this.fieldManager },
      what: `patch ${type.kind}${subresource ? `/${subresource}` : ""} ${namespace}/${name}`,
    });
  }

  /** Deletes; an object already gone counts as deleted. */
  async delete(type: ResourceType, namespace: string, name: string, uid?: string): Promise<void> {
    try {
      await this.request("DELETE", resourcePath(type, namespace, name), {
        // The uid precondition makes sure a newer object that reuses the name is never the one deleted.
        body: uid ? { kind: "DeleteOptions", apiVersion: "v1", preconditions: { uid } } : undefined,
        what: `delete ${type.kind} ${namespace}/${name}`,
      });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** GET of a discovery document; undefined when the group/version is not served. */
  async discover<T>(path: string): Promise<T | undefined> {
    try {
      return await this.request<T>("GET", path, { what: `discover ${path}` });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async request<T>(method: keyof typeof HttpMethod, path: string, options: RequestOptions): Promise<T> {
    const url = new URL(this.server + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined && value !== "") url.searchParams.set(key, String(value));
    }
    const context = new RequestContext(url.toString(), HttpMethod[method]);
    context.setHeaderParam("Accept", "application/json");
    if (options.body !== undefined) {
      context.setHeaderParam("Content-Type", options.contentType ?? "application/json");
      context.setBody(JSON.stringify(options.body));
    }
    await this.kubeConfig.applySecurityAuthentication(context);
    this.reuseConnections(context);
    const response = await this.http.send(context).toPromise();
    const text = await response.body.text();
    this.options.onResponse?.(verbOf(method, options), response.httpStatusCode);
    if (response.httpStatusCode < 200 || response.httpStatusCode > 299) {
      throw kubeApiErrorFrom(response.httpStatusCode, text, options.what);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * The library builds a fresh TLS agent for every request, so every call would pay a new handshake. The
   * agent's options (CA, client certificate) only change when the kubeconfig does; one keep-alive agent
   * built from them serves every request. Proxy agents are left alone.
   */
  private reuseConnections(context: RequestContext): void {
    const agent = context.getAgent();
    if (!(agent instanceof HttpsAgent) || agent.constructor !== HttpsAgent) return;
    this.sharedAgent ??= new HttpsAgent({ ...agent.options, keepAlive: true, maxSockets: 32 });
    context.setAgent(this.sharedAgent);
  }

  close(): void {
    this.sharedAgent?.destroy();
    this.sharedAgent = undefined;
  }
}

function verbOf(method: string, options: RequestOptions): string {
  if (method === "PATCH") return options.contentType === "application/apply-patch+yaml" ? "apply" : "patch";
  if (method === "GET") return options.what.startsWith("list") ? "list" : "get";
  return { POST: "create", PUT: "update", DELETE: "delete" }[method] ?? method.toLowerCase();
}
