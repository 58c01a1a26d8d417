import { z } from "zod";

/**
 * The admin credential guarding `/admin/v1/...` and the gRPC AdminService. At most one form may be
 * set; with none the admin API stays disabled (every admin call is refused with 403 saying so).
 */
export const adminConfigSchema = z
  .object({
    /** The admin token itself. */
    token: z.string().min(16, "must be at least 16 characters").optional(),
    /** A file holding the token (e.g. a mounted Kubernetes Secret); read once at start-up. */
    tokenFile: z.string().min(1).optional(),
    /** Hex SHA-256 of the token, so the gateway never holds the token itself. */
    tokenSha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, "must be 64 hexadecimal characters (the SHA-256 of the token)")
      .optional(),
  })
  .strict()
  .refine(
    (admin) => [admin.token, admin.tokenFile, admin.tokenSha256].filter((value) => value).length <= 1,
    "set only one of GATEWAY_ADMIN_TOKEN, GATEWAY_ADMIN_TOKEN_FILE and GATEWAY_ADMIN_TOKEN_SHA256",
  )
  .default({});

export type AdminConfig = z.output<typeof adminConfigSchema>;

export const adminEnv = {
  "admin.token": "GATEWAY_ADMIN_TOKEN",
  "admin.tokenFile": "GATEWAY_ADMIN_TOKEN_FILE",
  "admin.tokenSha256": "GATEWAY_ADMIN_TOKEN_SHA256",
} as const;
