"""Writing segments: stream copy into fragmented MP4, durable before it is indexed."""
