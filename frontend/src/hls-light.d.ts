// hls.js ships types for its full build only; the light build (no subtitles, alternate audio or
// DRM: what Home Assistant's own player uses too) has the same API.
declare module "hls.js/dist/hls.light.mjs" {
  import Hls from "hls.js";
  export default Hls;
}
