"""Reading cameras: opening sources (RTSP, files, the demo scene), repairing timestamps, workers."""
