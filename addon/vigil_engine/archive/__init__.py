"""The off-site archive: copies closed segments to an S3-compatible object store.

One module per job: ``settings`` (what the ``archive:`` section says), ``keys`` (object keys
and metadata, mirroring the local UTC layout), ``crypto`` (client-side AES-256-GCM in
chunks), ``body`` (the bytes of an object, plain or encrypted, read a part at a time, and the
bandwidth cap), ``store`` (the S3 client and what its errors mean), ``queue`` (the durable
queue in the index) and ``uploader`` (the thread that works the queue); then the way back:
``cache`` (footage kept only in the archive, fetched on demand for playback into a bounded
cache) and ``restore`` with ``cli`` (``python -m vigil_engine archive restore``: a new
machine's footage and index rebuilt from the archive). Recording never waits for any of
it: the uploader reads only closed, fsynced files, and an unreachable store only makes the
queue grow.
"""
