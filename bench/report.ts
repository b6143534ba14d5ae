/** How every section prints its figures: aligned tables, targets met or missed, sizes. */
export function mb(kb: number): string {
  return `${(kb / 1024).toFixed(0)} MB`;
}

export function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const [n, row] of rows.entries()) {
    console.log(
      row
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
        .join("  "),
    );
    if (n === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
  }
}

export function verdict(text: string, met: boolean): void {
  console.log(`${met ? "MET " : "MISS"}  ${text}`);
}
