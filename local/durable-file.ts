import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Writes `path` so that a crash at any moment (kill -9, a power cut) leaves either the old file or the
 * new one whole: the text goes to a temporary file beside it, which is flushed to disk, then renamed over
 * `path`, and the folder is flushed so that the rename itself is kept.
 */
export function writeFileDurably(path: string, text: string, mode = 0o644): void {
  const temp = `${path}.${process.pid}.tmp`;
  const fd = openSync(temp, 'w', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  syncFolder(dirname(path));
}

/** Appends a line to `path` and flushes it to disk before returning. */
export function appendLineDurably(path: string, line: string): void {
  const fd = openSync(path, 'a', 0o644);
  try {
    writeSync(fd, `${line}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function syncFolder(folder: string): void {
  const fd = openSync(folder, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
