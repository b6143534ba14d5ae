/** Running a benchmark child process and reading its figures. */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

export const node = process.execPath;

/** `taskset -c 0` where available, so "one core" means one core. */
export const oneCore: string[] = existsSync("/usr/bin/taskset") ? ["taskset", "-c", "0"] : [];

/** Runs a child that prints one JSON line; returns it parsed. */
export function runJson<T>(command: string[]): T {
  const [file, ...args] = command;
  const stdout = execFileSync(file!, args, { encoding: "utf8", maxBuffer: 1 << 24 });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as T;
}

/** Wall time and peak RSS of any command, through GNU time; undefined without it. */
export function timeCommand(command: string[]): { seconds: number; peakRssKb: number } | undefined {
  if (!existsSync("/usr/bin/time")) return undefined;
  const result = spawnSync("/usr/bin/time", ["-f", "%e %M", ...command], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${command.join(" ")} failed:\n${result.stderr}`);
  const [seconds, rss] = result.stderr.trim().split("\n").at(-1)!.split(" ").map(Number);
  return { seconds: seconds!, peakRssKb: rss! };
}
