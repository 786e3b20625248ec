/** C0 and C1 control characters (DEL included): a terminal acts on them instead of showing them. */
// eslint-disable-next-line no-control-regex -- matching them is the point
const controls = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Text as a terminal should show it: control characters written as `\uXXXX`. What a host answers
 * (a handler's error, an event's data) is anyone's text, and an escape sequence in it must not
 * repaint the operator's screen.
 */
export function printable(text: string): string {
  return text.replace(controls, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Rows (a header row first, if any) as left-aligned columns two spaces apart, each cell on one
 * line and printable; the last column is not padded.
 */
export function table(rows: readonly (readonly string[])[]): string {
  const cells = rows.map((row) => row.map((cell) => printable(cell.replace(/\s+/g, " "))));
  const widths = (cells[0] ?? []).map((_, i) => Math.max(...cells.map((r) => r[i]?.length ?? 0)));
  return cells
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n")
    .concat("\n");
}
