// The wall-clock time of a player's media time, and back, from an HLS playlist's dated segments.
//
// The engine dates every segment of its playlists (EXT-X-PROGRAM-DATE-TIME: the recorded UTC
// start) and breaks them at gaps (EXT-X-DISCONTINUITY). hls.js lays the segments end to end on
// the media timeline (a gap takes no media time) and keeps each one's start, length and date:
// within a segment, media time and wall-clock time run together, so one lookup per instant
// gives the exact time of the frame on screen, on either side of a gap.

/** What hls.js keeps of a segment (its Fragment objects have these fields). */
export interface DatedSegment {
  /** Media time (s) where the segment starts on the player's timeline (its earliest track). */
  start: number;
  /** Its length (s). */
  duration: number;
  /** The recorded UTC start (ms), or null for an undated segment. */
  programDateTime: number | null;
  /** Once loaded, where each track starts: the video's first frame is what the date is of. */
  elementaryStreams?: { video?: { startPTS: number } | null };
}

/**
 * The media time the segment's date belongs to: its first video frame. The engine dates a
 * segment by its first (key)frame; hls.js starts a loaded segment at its earliest track, and a
 * segment's audio may begin a few tens of milliseconds before its video.
 */
function dateAnchor(segment: DatedSegment): number {
  return segment.elementaryStreams?.video?.startPTS ?? segment.start;
}

/** The index of the last segment starting at or before ``value`` by ``key``, or -1. */
function lastAtOrBefore<T>(items: readonly T[], value: number, key: (item: T) => number): number {
  let low = 0;
  let high = items.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const item = items[middle];
    if (item !== undefined && key(item) <= value) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}

/** The wall-clock time (UTC ms) of media time ``seconds``, or null outside dated footage. */
export function wallAt(segments: readonly DatedSegment[], seconds: number): number | null {
  const index = lastAtOrBefore(segments, seconds, (segment) => segment.start);
  const segment = segments[index];
  if (segment === undefined || segment.programDateTime === null) {
    return null;
  }
  // Past the last segment's end (a few ms of rounding at most), the clock still stands there.
  const into = Math.min(seconds - dateAnchor(segment), segment.duration);
  return segment.programDateTime + into * 1000;
}

export interface MediaPosition {
  /** Media time (s) to seek to. */
  seconds: number;
  /** False when the instant had no footage and this is where the footage resumes. */
  exact: boolean;
}

/** The segment that holds ``wallMs`` (or, in a gap, the first after it), or undefined after the end. */
export function segmentAt<T extends DatedSegment>(segments: readonly T[], wallMs: number): T | undefined {
  const dated = segments.filter((segment) => segment.programDateTime !== null);
  const index = lastAtOrBefore(dated, wallMs, (segment) => segment.programDateTime ?? 0);
  const segment = dated[index];
  if (segment !== undefined && segment.programDateTime !== null && wallMs < segment.programDateTime + segment.duration * 1000) {
    return segment;
  }
  return dated[index + 1];
}

/**
 * Where the player must seek to show the frame recorded at ``wallMs``, or null after the end.
 *
 * A segment's media time is exact once hls.js has loaded it (from its first frame's timestamp);
 * before, it is the sum of the playlist's durations, which can be off by some milliseconds a
 * segment. The player seeks again once the segment is in (see the player).
 */
export function mediaTimeAt(segments: readonly DatedSegment[], wallMs: number): MediaPosition | null {
  const segment = segmentAt(segments, wallMs);
  if (segment === undefined || segment.programDateTime === null) {
    return null;
  }
  if (wallMs >= segment.programDateTime) {
    return { seconds: dateAnchor(segment) + (wallMs - segment.programDateTime) / 1000, exact: true };
  }
  return { seconds: dateAnchor(segment), exact: false };
}

/** The wall-clock span the segments cover: [first start, last end), or null without dates. */
export function datedSpan(segments: readonly DatedSegment[]): { start: number; end: number } | null {
  const first = segments.find((segment) => segment.programDateTime !== null);
  const last = [...segments].reverse().find((segment) => segment.programDateTime !== null);
  if (first?.programDateTime == null || last?.programDateTime == null) {
    return null;
  }
  return { start: first.programDateTime, end: last.programDateTime + last.duration * 1000 };
}
