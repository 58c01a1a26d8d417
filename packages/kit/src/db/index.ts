export {
  type ConnectDatabaseOptions,
  connectDatabase,
  type Database,
  type DbLogger,
  redactUrl,
} from "./database.js";
export { type EmbeddedPostgres, startEmbeddedPostgres } from "./embedded-postgres.js";
export { checksum, type Migration, migrate } from "./migrate.js";
