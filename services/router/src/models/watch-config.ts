import { type FSWatcher, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname } from "node:path";

export interface WatchConfigOptions {
  /** Editors and ConfigMap updates write in several steps; act once they have settled. */
  debounceMs?: number;
  /** Read failures (the file briefly missing mid-update, permissions) and `onChange` throwing; the watch keeps going. */
  onError?: (error: Error) => void;
  /** The contents the caller already loaded: a change is anything else (default: the file as first read). */
  initial?: string;
}

export interface ConfigWatch {
  close(): void;
}

/**
 * Calls `onChange` with the file's new contents whenever they change. It watches the directory, not
 * the file: editors save by rename and Kubernetes updates a mounted ConfigMap by swapping a `..data`
 * symlink, both of which leave a watch on the old inode silent forever. Every event in the directory
 * (debounced) re-reads the file, and only a change of contents is reported, so touching the file or
 * unrelated neighbours does nothing.
 */
export function watchConfigFile(
  path: string,
  onChange: (contents: string) => void,
  options: WatchConfigOptions = {},
): ConfigWatch {
  const debounceMs = options.debounceMs ?? 200;
  const onError = options.onError ?? (() => {});
  let last: string | undefined = options.initial;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let watcher: FSWatcher | undefined;

  const check = async () => {
    let contents: string;
    try {
      contents = await readFile(path, "utf8");
    } catch (error) {
      onError(error as Error);
      return;
    }
    if (closed || contents === last) return;
    last = contents;
    try {
      onChange(contents);
    } catch (error) {
      // Runs from a timer: a throw here would be an unhandled rejection, not the caller's problem.
      onError(error as Error);
    }
  };

  // The first read only records the baseline: the caller loaded this version at start-up.
  const ready = readFile(path, "utf8").then(
    (contents) => {
      last ??= contents;
    },
    (error: Error) => onError(error),
  );

  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
      // Some platforms omit the name; otherwise skip neighbours that are surely unrelated.
      if (file !== null && file !== basename(path) && !file.startsWith("..")) return;
      clearTimeout(timer);
      timer = setTimeout(() => void ready.then(check), debounceMs).unref();
    });
    watcher.on("error", (error) => onError(error));
  } catch (error) {
    onError(error as Error);
  }

  return {
    close() {
      closed = true;
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
