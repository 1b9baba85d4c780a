/**
 * A workspace's insights as CSV and as an Excel workbook (CONTRACT 7.4 insights, exported): the
 * same tables the JSON holds (acceptance, patterns, trends, cost). The CSV is one file with a
 * `table` column first; the workbook has one sheet per table, a styled header row, and numbers
 * stored as numbers.
 */
import type { Insights } from '@prism/core';
import ExcelJS from 'exceljs';

interface Table {
  name: string;
  columns: { key: string; header: string; width: number; format?: string }[];
  rows: Record<string, string | number>[];
}

function tables(insights: Insights): Table[] {
  return [
    {
      name: 'Acceptance',
      columns: [
        { key: 'by', header: 'By', width: 12 },
        { key: 'key', header: 'Key', width: 32 },
        { key: 'accepted', header: 'Accepted', width: 10 },
        { key: 'rejected', header: 'Rejected', width: 10 },
        { key: 'rate', header: 'Rate', width: 8, format: '0.0%' },
      ],
      rows: insights.acceptance.map((row) => ({ ...row })),
    },
    {
      name: 'Patterns',
      columns: [
        { key: 'by', header: 'By', width: 12 },
        { key: 'key', header: 'Key', width: 32 },
        { key: 'findings', header: 'Findings', width: 10 },
        { key: 'reviews', header: 'Reviews', width: 10 },
        { key: 'sections', header: 'Sections', width: 10 },
        { key: 'failed', header: 'Checklist fails', width: 14 },
      ],
      rows: insights.patterns.map(({ failed, ...row }) => ({ ...row, failed: failed ?? '' })),
    },
    {
      name: 'Trends',
      columns: [
        { key: 'week', header: 'Week of', width: 12 },
        { key: 'accepted', header: 'Accepted', width: 10 },
        { key: 'rejected', header: 'Rejected', width: 10 },
        { key: 'findings', header: 'Findings', width: 10 },
      ],
      rows: insights.trends.map((row) => ({ ...row })),
    },
    {
      name: 'Cost',
      columns: [
        { key: 'usd', header: 'USD', width: 12, format: '0.000000' },
        { key: 'inputTokens', header: 'Input tokens', width: 14 },
        { key: 'outputTokens', header: 'Output tokens', width: 14 },
        { key: 'cacheReadTokens', header: 'Cache read tokens', width: 18 },
        { key: 'cacheWriteTokens', header: 'Cache write tokens', width: 18 },
        { key: 'reviews', header: 'Reviews', width: 10 },
      ],
      rows: [{ ...insights.cost, reviews: insights.reviews }],
    },
  ];
}

/** RFC 4180 field: quoted when it holds a comma, quote or line break; a leading = + - @ is defused. */
function csvField(value: string | number): string {
  if (typeof value === 'number') return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One CSV: a `table` column, then each table's own columns (blank where a table has none). */
export function insightsCsv(insights: Insights): string {
  const all = tables(insights);
  const keys: string[] = [];
  const headers: string[] = [];
  for (const table of all) {
    for (const column of table.columns) {
      if (!keys.includes(column.key)) {
        keys.push(column.key);
        headers.push(column.key);
      }
    }
  }
  const lines = [['table', ...headers].join(',')];
  for (const table of all) {
    for (const row of table.rows) {
      lines.push([table.name.toLowerCase(), ...keys.map((key) => csvField(row[key] ?? ''))].join(','));
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** The workbook: one sheet per table, header row bold on grey, frozen. */
export async function insightsXlsx(insights: Insights, title: string): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  workbook.creator = 'Prism';
  workbook.title = title;
  for (const table of tables(insights)) {
    const sheet = workbook.addWorksheet(table.name, { views: [{ state: 'frozen', ySplit: 1 }] });
    sheet.columns = table.columns.map(({ key, header, width, format }) => ({
      key,
      header,
      width,
      ...(format ? { style: { numFmt: format } } : {}),
    }));
    for (const row of table.rows) sheet.addRow(row);
    const header = sheet.getRow(1);
    header.font = { bold: true };
    header.fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFE5E7EB' } };
    header.border = { bottom: { style: 'thin', color: { argb: 'FF9CA3AF' } } };
  }
  return Buffer.from(await workbook.xlsx.writeBuffer());
}
