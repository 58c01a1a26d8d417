/**
 * The jobs, batches, files and dead-letter tables name their columns after the fields of the records
 * they hold (`tenant_id` ↔ `tenantId`) and store an unset field as NULL. These types and one mapping
 * keep that convention in one place instead of a hand-written copy per table.
 */

type SnakeCase<S extends string> = S extends `${infer Head}${infer Tail}`
  ? `${Head extends Lowercase<Head> ? Head : `_${Lowercase<Head>}`}${SnakeCase<Tail>}`
  : S;

type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;

/** The row of a record: snake_case columns, NULL where the field may be unset. */
export type RowOf<R> = {
  [K in keyof R as SnakeCase<K & string>]-?: undefined extends R[K] ? Exclude<R[K], undefined> | null : R[K];
};

/** The record a row holds: camelCase fields, undefined where the column is NULL. */
export type RecordOf<Row> = {
  [K in keyof Row as CamelCase<K & string>]: null extends Row[K] ? Exclude<Row[K], null> | undefined : Row[K];
};

/** Maps a row to its record: each column to its camelCase field, NULL to undefined. */
export function recordFromRow<Row extends object>(row: Row): RecordOf<Row> {
  const record: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row))
    record[column.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase())] = value ?? undefined;
  return record as RecordOf<Row>;
}
