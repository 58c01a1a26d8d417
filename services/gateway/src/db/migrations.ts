import type { Migration } from "@strata/kit";
import { jobsMigration, jobsRetentionMigration } from "../jobs/jobs-migration.js";

/** The gateway's own schema; forward-only, append new migrations at the end. */
export const gatewaySchema = "gateway";

export const gatewayMigrations: Migration[] = [
  {
    id: "0001_tenants_and_api_keys",
    sql: `
      CREATE TABLE gateway.tenants (
        id text PRIMARY KEY,
        name text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE gateway.api_keys (
        id text PRIMARY KEY,
        tenant_id text NOT NULL REFERENCES gateway.tenants(id),
        name text NOT NULL,
        -- HMAC-SHA256 of the secret under the gateway's key-hash secret; the secret itself is never stored.
        key_hash bytea NOT NULL UNIQUE,
        -- First characters of the secret, so people can tell their keys apart.
        key_prefix text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz,
        revoked_at timestamptz
      );
      CREATE INDEX api_keys_tenant ON gateway.api_keys (tenant_id);
    `,
  },
  {
    id: "0002_usage_ledger",
    sql: `
      CREATE TABLE gateway.usage_ledger (
        -- The request id is the idempotency key: a redelivered usage event is stored once.
        request_id text PRIMARY KEY,
        tenant_id text NOT NULL,
        api_key_id text NOT NULL,
        model text NOT NULL,
        served_model text NOT NULL,
        endpoint_id text NOT NULL,
        operation text NOT NULL,
        stream boolean NOT NULL,
        prompt_tokens integer NOT NULL,
        completion_tokens integer NOT NULL,
        cached_tokens integer NOT NULL,
        latency_ms double precision NOT NULL,
        time_to_first_token_ms double precision NOT NULL,
        status integer NOT NULL,
        error_code text NOT NULL,
        started_at timestamptz NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX usage_ledger_tenant_time ON gateway.usage_ledger (tenant_id, started_at);
    `,
  },
  {
    id: "0003_projects_and_key_settings",
    sql: `
      ALTER TABLE gateway.tenants ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}';
      CREATE TABLE gateway.projects (
        id text PRIMARY KEY,
        tenant_id text NOT NULL REFERENCES gateway.tenants(id),
        name text NOT NULL,
        metadata jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (tenant_id, name),
        -- Target of the keys' (tenant_id, project_id) reference: a key's project is its tenant's.
        UNIQUE (tenant_id, id)
      );
      ALTER TABLE gateway.api_keys
        ADD COLUMN project_id text,
        -- NULL allows every model; otherwise the model names (as requested) this key may call.
        ADD COLUMN allowed_models text[],
        ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}',
        -- Written in batches, so it trails real use by up to the flush interval.
        ADD COLUMN last_used_at timestamptz,
        -- The key this one replaced; a key is rotated at most once (unique below).
        ADD COLUMN rotated_from text REFERENCES gateway.api_keys(id),
        ADD FOREIGN KEY (tenant_id, project_id) REFERENCES gateway.projects (tenant_id, id);
      CREATE INDEX api_keys_project ON gateway.api_keys (project_id);
      CREATE UNIQUE INDEX api_keys_rotated_from ON gateway.api_keys (rotated_from) WHERE rotated_from IS NOT NULL;
      -- Admin creates that carried an Idempotency-Key: a retry finds what the first attempt made.
      CREATE TABLE gateway.admin_idempotency (
        scope text NOT NULL,
        idempotency_key text NOT NULL,
        request_hash bytea NOT NULL,
        resource_id text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (scope, idempotency_key)
      );
      CREATE INDEX admin_idempotency_created ON gateway.admin_idempotency (created_at);
      ALTER TABLE gateway.usage_ledger ADD COLUMN project_id text NOT NULL DEFAULT '';
    `,
  },
  {
    id: "0004_limits_and_costs",
    sql: `
      -- Per-tenant and per-key overrides of the configured default limits. NULL inherits the default;
      -- 0 means no limit. No foreign key: one table serves two scopes; the admin API checks the target.
      CREATE TABLE gateway.limits (
        scope text NOT NULL CHECK (scope IN ('tenant', 'key')),
        scope_id text NOT NULL,
        requests_per_minute integer CHECK (requests_per_minute >= 0),
        tokens_per_minute integer CHECK (tokens_per_minute >= 0),
        concurrent_requests integer CHECK (concurrent_requests >= 0),
        daily_budget_usd double precision CHECK (daily_budget_usd >= 0),
        daily_soft_budget_usd double precision CHECK (daily_soft_budget_usd >= 0),
        monthly_budget_usd double precision CHECK (monthly_budget_usd >= 0),
        monthly_soft_budget_usd double precision CHECK (monthly_soft_budget_usd >= 0),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (scope, scope_id)
      );
      -- What each request cost, and the price-table entry it was computed from ('' when unpriced).
      ALTER TABLE gateway.usage_ledger
        ADD COLUMN cost_usd double precision NOT NULL DEFAULT 0,
        ADD COLUMN priced_model text NOT NULL DEFAULT '';
      -- Usage reports across tenants and per key, and the spend counters rebuilt at start-up, scan by time.
      CREATE INDEX usage_ledger_time ON gateway.usage_ledger (started_at);
      CREATE INDEX usage_ledger_key_time ON gateway.usage_ledger (api_key_id, started_at);
    `,
  },
  {
    id: "0005_response_cache",
    sql: `
      -- What the response cache did for each request, and what a hit saved (UsageEvent fields 30-33).
      ALTER TABLE gateway.usage_ledger
        ADD COLUMN cache_status text NOT NULL DEFAULT '',
        ADD COLUMN cache_saved_prompt_tokens integer NOT NULL DEFAULT 0,
        ADD COLUMN cache_saved_completion_tokens integer NOT NULL DEFAULT 0,
        ADD COLUMN cache_saved_cost_usd double precision NOT NULL DEFAULT 0;
      -- The semantic cache's shared index needs pgvector. A Postgres without it (or a role that may not
      -- create it) still migrates; the gateway then keeps its semantic cache in process.
      DO $migration$
      BEGIN
        IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
          CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public;
          CREATE TABLE gateway.semantic_cache (
            id bigserial PRIMARY KEY,
            tenant_id text NOT NULL,
            -- Hash of model, operation, parameters, earlier turns and embedder: only one bucket's
            -- entries are ever compared.
            bucket text NOT NULL,
            -- Vector length; each length has its own HNSW index, made by the gateway on first use.
            dimensions integer NOT NULL,
            embedding vector NOT NULL,
            answer bytea NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL
          );
          CREATE INDEX semantic_cache_bucket ON gateway.semantic_cache (tenant_id, bucket);
          CREATE INDEX semantic_cache_expiry ON gateway.semantic_cache (expires_at);
        END IF;
      EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'pgvector not created (insufficient privilege): the semantic cache stays in process';
      END
      $migration$;
    `,
  },
  // Jobs, files, batches and dead letters (0006).
  jobsMigration,
  {
    id: "0007_usage_ledger_providers",
    sql: `
      -- Who answered each request and how (UsageEvent fields 50-54): the provider ('engine', a hosted
      -- provider's name, an embedding backend; '' when none did), tries along the fallback chain, the
      -- position of the entry that answered, the x-strata-route value and one line per failed try.
      ALTER TABLE gateway.usage_ledger
        ADD COLUMN provider text NOT NULL DEFAULT '',
        ADD COLUMN attempts integer NOT NULL DEFAULT 0,
        ADD COLUMN fallback_index integer NOT NULL DEFAULT 0,
        ADD COLUMN route text NOT NULL DEFAULT '',
        ADD COLUMN attempt_errors text[] NOT NULL DEFAULT '{}';
    `,
  },
  // Jobs: retention indexes, batches' output_expires_after, rotated webhook secrets (0008).
  jobsRetentionMigration,
];
