// What the card asks Home Assistant over its WebSocket, as the logged-in user: the Vigil
// integration's commands (custom_components/vigil/websocket_api.py), Home Assistant's camera
// stream, the vigil.export_clip action and the media source. No engine address or token is
// ever seen here: media come as paths of Home Assistant's views, signed for this user.

import type { HomeAssistant } from "./ha";

export type EventKind = "motion" | "manual" | "camera" | (string & {});

export interface TimelineEvent {
  id: string;
  kind: EventKind;
  /** A manual event's text, or what a camera reported (e.g. "person"). */
  label: string | null;
  zones: string[];
  start_ms: number;
  /** null while the event runs. */
  end_ms: number | null;
  pre_ms: number;
  post_ms: number;
  peak_score: number | null;
  /** What it saw, sorted: its tracked objects' labels ("person", "car") and what a camera reported. */
  labels?: string[];
  /** The groups of those labels, in the order person, vehicle, animal (what the card filters by). */
  groups?: string[];
  /** The best score of its objects, 0 to 1 (0: none). */
  top_score?: number;
  /** A signed path to the event's thumbnail, or null without a snapshot. */
  thumbnail: string | null;
}

export interface TimelineHour {
  start_ms: number;
  end_ms: number;
  /** The local clock at the hour's start, "HH:MM". */
  label: string;
  /** "+HH:MM": tells the two 02:00 hours of an autumn night apart. */
  utc_offset: string;
  events: number;
  recorded_ms: number;
}

export interface TimelineGap {
  start_ms: number;
  end_ms: number;
  reason: string;
}

/** One local day of a camera in Home Assistant's time zone (`vigil/timeline`). */
export interface DayTimeline {
  entity_id: string;
  camera_id: string;
  name: string;
  date: string;
  time_zone: string;
  start_ms: number;
  end_ms: number;
  now_ms: number;
  today: string;
  previous_date: string;
  next_date: string | null;
  hours: TimelineHour[];
  recorded: [number, number][];
  recorded_ms: number;
  /** The last range is the segment being written (it grows; its newest seconds play live). */
  live: boolean;
  gaps: TimelineGap[];
  events: TimelineEvent[];
  events_truncated: boolean;
  links_expire_ms: number;
}

/** A signed HLS playlist of the camera's footage (`vigil/playback`). */
export interface Playback {
  entity_id: string;
  url: string;
  start_ms: number;
  end_ms: number;
  expires_ms: number;
}

export interface ExportedClip {
  path: string;
  media_content_id: string;
  local_media_content_id: string;
  size: number;
  start: string;
  end: string;
}

export interface ResolvedMedia {
  url: string;
  mime_type: string;
}

export function fetchTimeline(hass: HomeAssistant, entityId: string, date?: string): Promise<DayTimeline> {
  return hass.callWS<DayTimeline>({ type: "vigil/timeline", entity_id: entityId, ...(date ? { date } : {}) });
}

export function fetchPlayback(hass: HomeAssistant, entityId: string, startMs: number, endMs?: number): Promise<Playback> {
  return hass.callWS<Playback>({
    type: "vigil/playback",
    entity_id: entityId,
    start_ms: Math.round(startMs),
    ...(endMs !== undefined ? { end_ms: Math.round(endMs) } : {}),
  });
}

/** Home Assistant's own live stream of the camera entity (HLS through its stream component). */
export function fetchLiveStream(hass: HomeAssistant, entityId: string): Promise<{ url: string }> {
  return hass.callWS<{ url: string }>({ type: "camera/stream", entity_id: entityId, format: "hls" });
}

/** Runs vigil.export_clip on the camera for [start, end) and returns what it wrote. */
export async function exportClip(hass: HomeAssistant, entityId: string, startMs: number, endMs: number): Promise<ExportedClip> {
  const answer = await hass.callWS<{ response: Record<string, ExportedClip | undefined> }>({
    type: "call_service",
    domain: "vigil",
    service: "export_clip",
    service_data: { start: new Date(startMs).toISOString(), end: new Date(endMs).toISOString() },
    target: { entity_id: entityId },
    return_response: true,
  });
  const clip = answer.response[entityId];
  if (clip === undefined) {
    throw new Error("the export answered nothing for this camera");
  }
  return clip;
}

/** A media-source id as a URL this user can open (signed by Home Assistant). */
export function resolveMedia(hass: HomeAssistant, mediaContentId: string): Promise<ResolvedMedia> {
  return hass.callWS<ResolvedMedia>({ type: "media_source/resolve_media", media_content_id: mediaContentId });
}
