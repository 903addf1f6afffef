// The Vigil bundle Home Assistant loads on every page (custom_components/vigil/card.py): the
// timeline card and its editor, the "Vigil cameras" dashboard strategy and the sidebar panel,
// each announced where the frontend looks for them (the card picker, Add dashboard).

import { CARD_TYPE } from "./card";
import "./editor";
import "./panel";
import { STRATEGY_TYPE } from "./strategy";

interface CustomCardEntry {
  type: string;
  name: string;
  description: string;
  preview?: boolean;
  documentationURL?: string;
}

interface CustomStrategyEntry {
  type: string;
  strategyType: "dashboard" | "view" | "section";
  name: string;
  description: string;
  documentationURL?: string;
}

declare global {
  interface Window {
    customCards?: CustomCardEntry[];
    customStrategies?: CustomStrategyEntry[];
  }
}

const DOCUMENTATION = "https://github.com/vigil-nvr/vigil/blob/main/custom_components/vigil/README.md#the-vigil-card";

window.customCards ??= [];
if (!window.customCards.some((card) => card.type === CARD_TYPE)) {
  window.customCards.push({
    type: CARD_TYPE,
    name: "Vigil timeline",
    description: "A Vigil camera live, and its day on a timeline: footage, gaps and events to play from any instant, and clips to export.",
    preview: true,
    documentationURL: DOCUMENTATION,
  });
}

window.customStrategies ??= [];
if (!window.customStrategies.some((strategy) => strategy.type === STRATEGY_TYPE)) {
  window.customStrategies.push({
    type: STRATEGY_TYPE,
    strategyType: "dashboard",
    name: "Vigil cameras",
    description: "A timeline card for every Vigil camera: live view, recordings, events and clips.",
    documentationURL: DOCUMENTATION,
  });
}
