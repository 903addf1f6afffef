// The few Material Design Icons the card draws (the set Home Assistant uses), as inline SVG:
// no dependency on the frontend's own icon elements, whose loading custom cards cannot rely on.

import { svg } from "lit";

export {
  mdiChevronLeft,
  mdiChevronRight,
  mdiClose,
  mdiDownload,
  mdiMagnifyMinusOutline,
  mdiMagnifyPlusOutline,
  mdiMenu,
  mdiPause,
  mdiPlay,
  mdiSelectCompare,
  mdiSkipNext,
  mdiSkipPrevious,
  mdiVideo,
} from "@mdi/js";

export function icon(path: string) {
  return svg`<svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false"><path d=${path}></path></svg>`;
}
