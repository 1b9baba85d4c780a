/**
 * Dates and times as documents write them ("2024-05-03 14:10", "3 May 2024", "May 3, 2024",
 * "14:10"), read into minutes so a timeline's order can be checked. Day-first and month-first
 * numeric dates ("03/05/2024") are ambiguous and read only when the day is over 12.
 */

const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];
const MONTH =
  '(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\\.?';
const TIME = '(?:,?\\s*(?:at\\s+)?(\\d{1,2})[:.](\\d{2})(?:\\s*([AaPp])\\.?[Mm]\\.?)?)?';

export interface DateAt {
  /** The date as written, verbatim. */
  text: string;
  start: number;
  end: number;
  /** Minutes since 0000-01-01 (a sortable number, not a calendar). */
  value: number;
  /** Whether the text gave a year, a day and a time. */
  hasYear: boolean;
  hasDay: boolean;
  hasTime: boolean;
}

const monthOf = (name: string): number =>
  MONTHS.findIndex((m) => m.startsWith(name.toLowerCase().slice(0, 3)));

function minutes(year: number, month: number, day: number, hour = 0, minute = 0): number {
  return (((year * 12 + month) * 31 + (day - 1)) * 24 + hour) * 60 + minute;
}

function clock(hour?: string, minute?: string, half?: string): [number, number] | undefined {
  if (hour === undefined || minute === undefined) return undefined;
  let h = Number(hour);
  const m = Number(minute);
  if (h > 23 || m > 59) return undefined;
  if (half && /p/i.test(half) && h < 12) h += 12;
  if (half && /a/i.test(half) && h === 12) h = 0;
  return [h, m];
}

const PATTERNS: {
  re: RegExp;
  read: (m: RegExpExecArray, year: number) => Omit<DateAt, 'text' | 'start' | 'end'> | undefined;
}[] = [
  {
    // 2024-05-03, 2024-05-03 14:10, 2024-05-03T14:10
    re: /\b(\d{4})-(\d{2})-(\d{2})(?:[T\s]+(\d{1,2}):(\d{2}))?/y,
    read: (m) => {
      const month = Number(m[2]) - 1;
      const day = Number(m[3]);
      if (month > 11 || day < 1 || day > 31) return undefined;
      const t = clock(m[4], m[5]);
      return {
        value: minutes(Number(m[1]), month, day, ...(t ?? [0, 0])),
        hasYear: true,
        hasDay: true,
        hasTime: !!t,
      };
    },
  },
  {
    // 3 May 2024, 3 May, 3rd May 2024 14:10
    re: new RegExp(`\\b(\\d{1,2})(?:st|nd|rd|th)?\\s+${MONTH}(?:,?\\s+(\\d{4}))?${TIME}`, 'iy'),
    read: (m, year) => {
      const day = Number(m[1]);
      if (day < 1 || day > 31) return undefined;
      const t = clock(m[4], m[5], m[6]);
      const y = m[3] ? Number(m[3]) : year;
      return {
        value: minutes(y, monthOf(m[2]!), day, ...(t ?? [0, 0])),
        hasYear: !!m[3],
        hasDay: true,
        hasTime: !!t,
      };
    },
  },
  {
    // May 3, 2024, May 3 at 14:10, May 2024
    re: new RegExp(
      `\\b${MONTH}\\s+(?:(\\d{1,2})(?:st|nd|rd|th)?(?!\\d)(?:,?\\s+(\\d{4}))?|(\\d{4}))${TIME}`,
      'iy',
    ),
    read: (m, year) => {
      const day = m[2] ? Number(m[2]) : 1;
      if (day < 1 || day > 31) return undefined;
      const t = clock(m[5], m[6], m[7]);
      const y = m[3] ? Number(m[3]) : m[4] ? Number(m[4]) : year;
      return {
        value: minutes(y, monthOf(m[1]!), day, ...(t ?? [0, 0])),
        hasYear: !!(m[3] || m[4]),
        hasDay: !!m[2],
        hasTime: !!t,
      };
    },
  },
  {
    // 13/05/2024 (day first, unambiguous), 05/13/2024 (month first)
    re: /\b(\d{1,2})[/.](\d{1,2})[/.](\d{4})/y,
    read: (m) => {
      const a = Number(m[1]);
      const b = Number(m[2]);
      if (a > 12 && b <= 12)
        return { value: minutes(Number(m[3]), b - 1, a), hasYear: true, hasDay: true, hasTime: false };
      if (b > 12 && a <= 12)
        return { value: minutes(Number(m[3]), a - 1, b), hasYear: true, hasDay: true, hasTime: false };
      return undefined;
    },
  },
];

/** A date (with its time, if any) starting exactly at `at`; a missing year is `year`. */
export function dateAt(text: string, at: number, year = 0): DateAt | undefined {
  for (const { re, read } of PATTERNS) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) continue;
    const parsed = read(m, year);
    if (parsed) return { text: m[0], start: at, end: at + m[0].length, ...parsed };
  }
  return undefined;
}

/** A time of day alone ("14:10", "2:10 pm") at `at`, in minutes after midnight. */
export function timeAt(text: string, at: number): { text: string; minutes: number } | undefined {
  const m = /(\d{1,2}):(\d{2})(?:\s*([AaPp])\.?[Mm]\.?)?(?!\d)/y;
  m.lastIndex = at;
  const found = m.exec(text);
  if (!found) return undefined;
  const t = clock(found[1], found[2], found[3]);
  return t ? { text: found[0], minutes: t[0] * 60 + t[1] } : undefined;
}

/** Every date in a piece of text. */
export function datesIn(text: string, year = 0): DateAt[] {
  const found: DateAt[] = [];
  for (const m of text.matchAll(/\b(?=\d|[A-Z])/gi)) {
    if (found.length > 0 && m.index < found.at(-1)!.end) continue;
    const date = dateAt(text, m.index, year);
    if (date) found.push(date);
  }
  return found;
}

/** The calendar year of a value from `dateAt`. */
export const yearOf = (value: number): number => Math.floor(value / (60 * 24 * 31 * 12));
