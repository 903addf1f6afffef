// Clocks and dates in Home Assistant's time zone (hass.config.time_zone), never the browser's:
// a phone abroad still shows the footage at the times of the house. Instants are UTC
// milliseconds; only formatting is local, with the time-zone database of the browser (Intl),
// so every instant gets the offset in force at that instant (summer or winter time).

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(key: string, make: () => Intl.DateTimeFormat): Intl.DateTimeFormat {
  let found = formatters.get(key);
  if (found === undefined) {
    found = make();
    formatters.set(key, found);
  }
  return found;
}

function parts(ms: number, zone: string): Record<string, string> {
  const format = formatter(`parts|${zone}`, () =>
    new Intl.DateTimeFormat("en-GB", {
      timeZone: zone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    }),
  );
  const found: Record<string, string> = {};
  for (const part of format.formatToParts(new Date(ms))) {
    found[part.type] = part.value;
  }
  return found;
}

/** "14:03" or "14:03:12" (or "14:03:12.400"): the local clock at the instant. */
export function formatClock(ms: number, zone: string, precision: "minutes" | "seconds" | "millis" = "seconds"): string {
  const found = parts(ms, zone);
  let text = `${found.hour}:${found.minute}`;
  if (precision !== "minutes") {
    text += `:${found.second}`;
  }
  if (precision === "millis") {
    text += `.${String(((Math.floor(ms) % 1000) + 1000) % 1000).padStart(3, "0")}`;
  }
  return text;
}

/** The local date of an instant, "YYYY-MM-DD". */
export function localDate(ms: number, zone: string): string {
  const found = parts(ms, zone);
  return `${found.year}-${found.month}-${found.day}`;
}

/** The UTC offset in force at the instant, "+01:00". */
export function utcOffset(ms: number, zone: string): string {
  const wall = parts(ms, zone);
  const asUtc = Date.UTC(
    Number(wall.year),
    Number(wall.month) - 1,
    Number(wall.day),
    Number(wall.hour),
    Number(wall.minute),
    Number(wall.second),
  );
  const minutes = Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60_000);
  const sign = minutes < 0 ? "-" : "+";
  const absolute = Math.abs(minutes);
  return `${sign}${String(Math.floor(absolute / 60)).padStart(2, "0")}:${String(absolute % 60).padStart(2, "0")}`;
}

/** "Mon 5 Jan 2026" for a "YYYY-MM-DD" date (a calendar date: no zone involved). */
export function formatDay(date: string, language: string): string {
  const [year, month, day] = date.split("-").map(Number);
  const format = formatter(`day|${language}`, () => {
    try {
      return new Intl.DateTimeFormat(language, { weekday: "short", day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
    } catch {
      return new Intl.DateTimeFormat("en-GB", { weekday: "short", day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
    }
  });
  return format.format(new Date(Date.UTC(year ?? 1970, (month ?? 1) - 1, day ?? 1, 12)));
}

/** "2 h 05 min", "12 min", "3 min 05 s", "42 s": a length for people. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) {
    return `${seconds} s`;
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return minutes < 10 ? `${minutes} min ${String(seconds % 60).padStart(2, "0")} s` : `${minutes} min`;
  }
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}
