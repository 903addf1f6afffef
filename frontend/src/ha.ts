// The parts of Home Assistant's frontend objects the card uses, typed as the frontend hands
// them to custom cards (the `hass` object, its states and entity registry). Only what is
// read here is declared: Home Assistant adds fields over time, never removes these.

export interface HassEntity {
  entity_id: string;
  state: string;
  attributes: {
    friendly_name?: string;
    entity_picture?: string;
    supported_features?: number;
    [key: string]: unknown;
  };
  last_changed: string;
  last_updated: string;
}

/** An entry of the entity registry as the frontend keeps it (`hass.entities`). */
export interface EntityRegistryDisplayEntry {
  entity_id: string;
  name?: string | null;
  platform?: string;
  device_id?: string;
  area_id?: string;
  hidden?: boolean;
}

export interface HassConfig {
  /** Home Assistant's time zone (Settings → System → General): the card's days and clocks. */
  time_zone: string;
  components: string[];
}

export interface MessageBase {
  type: string;
  [key: string]: unknown;
}

export interface HomeAssistant {
  states: Record<string, HassEntity | undefined>;
  entities: Record<string, EntityRegistryDisplayEntry | undefined>;
  config: HassConfig;
  themes?: { darkMode?: boolean };
  language: string;
  locale?: { language: string };
  callWS<T>(message: MessageBase): Promise<T>;
  hassUrl(path?: string): string;
}

/** A Lovelace card's config: its type, and the options of the card. */
export interface LovelaceCardConfig {
  type: string;
  [key: string]: unknown;
}

/** The error a `callWS` promise rejects with: Home Assistant's error code and message. */
export interface HassError {
  code: string;
  message: string;
}

export function errorMessage(error: unknown): string {
  if (typeof error === "object" && error !== null && "message" in error) {
    const message = (error as { message: unknown }).message;
    if (typeof message === "string") {
      return message;
    }
  }
  return String(error);
}

export const VIGIL = "vigil";
// CameraEntityFeature.STREAM: the camera entity can give a live stream.
export const CAMERA_SUPPORT_STREAM = 2;

/** The Vigil camera entities Home Assistant knows, by name (hidden ones left out). */
export function vigilCameras(hass: HomeAssistant): string[] {
  return Object.values(hass.entities)
    .filter(
      (entry): entry is EntityRegistryDisplayEntry =>
        entry !== undefined &&
        entry.platform === VIGIL &&
        entry.entity_id.startsWith("camera.") &&
        !entry.hidden &&
        hass.states[entry.entity_id] !== undefined,
    )
    .map((entry) => entry.entity_id)
    .sort((a, b) => cameraName(hass, a).localeCompare(cameraName(hass, b)));
}

export function cameraName(hass: HomeAssistant, entityId: string): string {
  const state = hass.states[entityId];
  return state?.attributes.friendly_name ?? entityId;
}

/** Fires a DOM event the way Home Assistant's frontend does (bubbles out of shadow roots). */
export function fireEvent<T>(node: EventTarget, type: string, detail: T): void {
  node.dispatchEvent(new CustomEvent<T>(type, { detail, bubbles: true, composed: true }));
}
