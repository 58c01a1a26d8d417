import type { Migration } from "@strata/kit";

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
];
