import { executionNameOf as nameOfExecution } from '../functions/lib/contracts/executions';

const ANSI = /\u001b\[[0-9;]*m/g;

export function visibleLength(text: string): number {
  return text.replace(ANSI, '').length;
}

/**
 * Rows as aligned columns, two spaces apart. A row's last cell is not padded and does not widen
 * its column, so a short row can carry one long remark.
 */
export function table(rows: string[][], indent = ''): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.slice(0, -1).forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell))));
  }
  return rows.map(
    (row) =>
      indent +
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visibleLength(cell))))
        .join('  ')
        .trimEnd(),
  );
}

/** The execution name, or '-' when there is none. */
export function executionNameOf(arn: string | undefined): string {
  return arn ? nameOfExecution(arn) : '-';
}
