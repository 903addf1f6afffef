// The "Vigil cameras" dashboard: Settings → Dashboards → Add dashboard lists it (a dashboard
// strategy in window.customStrategies). Its view is made by a view strategy when it is shown,
// with a timeline card per Vigil camera, so cameras added later appear without editing it.

import { CARD_TYPE } from "./card";
import { vigilCameras, type HomeAssistant, type LovelaceCardConfig } from "./ha";

export const STRATEGY_TYPE = "vigil";

interface ViewConfig {
  title?: string;
  path?: string;
  icon?: string;
  strategy?: { type: string };
  cards?: LovelaceCardConfig[];
}

/** The cards of the view: one per Vigil camera, or a note when there is none. */
export function cameraCards(hass: HomeAssistant): LovelaceCardConfig[] {
  const cameras = vigilCameras(hass);
  if (cameras.length === 0) {
    return [
      {
        type: "markdown",
        content:
          "No Vigil camera yet. Add the **Vigil NVR** integration under *Settings → Devices & services*, and its cameras appear here.",
      },
    ];
  }
  return cameras.map((entity) => ({ type: `custom:${CARD_TYPE}`, entity }));
}

export class VigilDashboardStrategy extends HTMLElement {
  static async generate(): Promise<{ title: string; views: ViewConfig[] }> {
    return {
      title: "Cameras",
      views: [{ title: "Cameras", path: "cameras", icon: "mdi:cctv", strategy: { type: `custom:${STRATEGY_TYPE}` } }],
    };
  }
}

export class VigilViewStrategy extends HTMLElement {
  static async generate(_config: unknown, hass: HomeAssistant): Promise<ViewConfig> {
    return { cards: cameraCards(hass) };
  }
}

// The frontend finds a strategy "custom:<type>" as the element ll-strategy-<dashboard|view>-<type>.
if (!customElements.get("ll-strategy-dashboard-vigil")) {
  customElements.define("ll-strategy-dashboard-vigil", VigilDashboardStrategy);
}
if (!customElements.get("ll-strategy-view-vigil")) {
  customElements.define("ll-strategy-view-vigil", VigilViewStrategy);
}
