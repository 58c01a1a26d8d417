/** Who is calling: attached to every request once its key checks out. */
export interface AuthContext {
  tenantId: string;
  apiKeyId: string;
  /** The key's project; undefined when the key belongs to none. */
  projectId: string | undefined;
  /** Model names (as requested) the key may call; undefined allows every model. */
  allowedModels: readonly string[] | undefined;
  /** Free-form labels set on the key by an admin (at most 16 pairs). */
  metadata: Readonly<Record<string, string>>;
  /** When the key stops working (Unix ms); undefined when it never expires. */
  expiresAt: number | undefined;
}
