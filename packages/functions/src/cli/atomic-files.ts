/**
 * Replacing files so that a reader never sees a half-written one: each new content goes to a
 * temporary file in the same folder (same file system, so rename is atomic), is flushed to
 * disk, and is renamed over the old file; then the folders are flushed so the renames last.
 * Both files are complete on disk before either is renamed, so only a crash between the two
 * renames can leave one new and one old; `pki renew` then refuses the mismatched pair (it checks
 * that the key is the certificate's) rather than guess.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export interface NewFile {
  readonly path: string;
  readonly content: string;
  /** The file's mode; exact, whatever the umask. */
  readonly mode: number;
}

export function replaceFiles(files: readonly NewFile[]): void {
  const temps: string[] = [];
  try {
    for (const file of files) {
      const temp = join(
        dirname(file.path),
        `.${basename(file.path)}.${randomBytes(6).toString("hex")}.tmp`,
      );
      const fd = openSync(temp, "wx", file.mode);
      temps.push(temp);
      try {
        fchmodSync(fd, file.mode);
        writeSync(fd, file.content);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    for (const [i, file] of files.entries()) renameSync(temps[i]!, file.path);
  } catch (error) {
    for (const temp of temps) rmSync(temp, { force: true });
    throw error;
  }
  for (const folder of new Set(files.map((f) => dirname(f.path)))) {
    const fd = openSync(folder, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}
