"""The index in Home Assistant backups: a consistent snapshot instead of the live database.

The Supervisor backs up a running add-on by tarring its ``/data`` while it runs ("hot"
backup). The index is SQLite in WAL mode: a tar of ``vigil.db``, ``vigil.db-wal`` and
``vigil.db-shm`` taken while segments are being indexed can capture a torn database. So
the add-on's ``config.yaml`` says:

- ``backup_pre: vigil-backup snapshot`` (``python3 -m vigil_engine.backup snapshot``): the
  Supervisor runs it in the container before the tar. It copies the index with SQLite's
  online backup API in one read transaction, which in WAL mode never blocks the engine's
  writers (recording never waits), checks the copy, and puts it beside the database as
  ``<database>.backup`` (written under a temporary name, fsynced, renamed);
- ``backup_exclude``: the live database files (``*.db``, ``*.db-wal``, ``*.db-shm``,
  ``*.db-journal``), a half-written snapshot and set-aside corrupt copies stay out of the tar;
- ``backup_post: vigil-backup cleanup``: removes the snapshot again (only while the live
  database exists: otherwise the snapshot is the only copy of the index).

After a restore ``/data`` holds the snapshot but no database: the engine's start
(:meth:`vigil_engine.storage.index.Index.open`) copies the snapshot into place, and the
start-up reconcile indexes the footage recorded after the snapshot from the files, with
their exact start times. A database that fails its integrity check is replaced from the
snapshot the same way; only without a usable snapshot is the index rebuilt from the files
alone (which loses events and run-time settings). The command works without the engine's
API (the engine may be stopped or starting) and prints nothing secret: paths and sizes only.
"""
