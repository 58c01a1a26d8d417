import { z } from "zod";

// Admin inputs, shared by the HTTP routes (JSON bodies as they come) and the gRPC service (its messages
// mapped to the same snake_case shape), so both refuse the same mistakes with the same words.

const name = z.string().trim().min(1, "must not be empty").max(128, "must be at most 128 characters");

/** OpenAI's metadata rules: at most 16 pairs, keys up to 64 characters, string values up to 512. */
export const metadataSchema = z
  .record(
    z.string().min(1, "keys must not be empty").max(64, "keys must be at most 64 characters"),
    z.string().max(512, "values must be at most 512 characters"),
  )
  .refine((metadata) => Object.keys(metadata).length <= 16, "must have at most 16 keys");

const modelName = z.string().trim().min(1, "model names must not be empty").max(256);
export const allowedModelsSchema = z
  .array(modelName)
  .min(1, "must name at least one model (use null to allow every model)")
  .max(256, "must name at most 256 models")
  .transform((models) => [...new Set(models)]);

/** Unix seconds; whether it lies in the future is checked against the clock when the key is written. */
const unixSeconds = z.number().int("must be a whole number of Unix seconds").positive();

export const id = z.string().trim().min(1, "must not be empty").max(128);

export const createTenantSchema = z.object({ name, metadata: metadataSchema.default({}) }).strict();

export const createProjectSchema = z
  .object({ tenant_id: id, name, metadata: metadataSchema.default({}) })
  .strict();

export const createKeySchema = z
  .object({
    tenant_id: id.optional(),
    project_id: id.nullable().optional(),
    name,
    allowed_models: allowedModelsSchema.nullable().optional(),
    metadata: metadataSchema.default({}),
    expires_at: unixSeconds.nullable().optional(),
  })
  .strict();

export const updateKeySchema = z
  .object({
    name: name.optional(),
    /** null allows every model again. */
    allowed_models: allowedModelsSchema.nullable().optional(),
    metadata: metadataSchema.optional(),
    /** null removes the expiry. */
    expires_at: unixSeconds.nullable().optional(),
  })
  .strict();

/** Longest grace period a rotation may grant the old key. */
export const maxGracePeriodSeconds = 30 * 24 * 3600;

export const rotateKeySchema = z
  .object({
    grace_period_seconds: z
      .number()
      .int("must be a whole number of seconds")
      .min(0)
      .max(maxGracePeriodSeconds, "must be at most 30 days (2592000 seconds)")
      .default(0),
  })
  .strict();

const limit = z.coerce
  .number()
  .int("must be a whole number")
  .min(1, "must be between 1 and 1000")
  .max(1000, "must be between 1 and 1000")
  .default(100);

export const listSchema = z.object({ limit, after: id.optional() }).strict();
export const listProjectsSchema = z
  .object({ limit, after: id.optional(), tenant_id: id.optional() })
  .strict();
export const listKeysSchema = z
  .object({ limit, after: id.optional(), tenant_id: id.optional(), project_id: id.optional() })
  .strict();

export type CreateTenantInput = z.output<typeof createTenantSchema>;
export type CreateProjectInput = z.output<typeof createProjectSchema>;
export type CreateKeyInput = z.output<typeof createKeySchema>;
export type UpdateKeyInput = z.output<typeof updateKeySchema>;
export type RotateKeyInput = z.output<typeof rotateKeySchema>;
export type ListInput = z.output<typeof listSchema>;
export type ListProjectsInput = z.output<typeof listProjectsSchema>;
export type ListKeysInput = z.output<typeof listKeysSchema>;
