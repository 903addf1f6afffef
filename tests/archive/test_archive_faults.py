"""Faults caused for real: the engine killed mid multipart upload, wrong credentials, no bucket."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.archive.helpers import make_noise_clip, wait_until
from tests.archive.seaweedfs import SECRET_KEY, SeaweedFS
from tests.engine.conftest import EngineFactory
from tests.support.camera import RtspCamera
from vigil_engine.archive.settings import MIB


def test_a_multipart_upload_killed_with_sigkill_resumes_after_a_restart(
    seaweedfs: SeaweedFS, bucket: str, engine_factory: EngineFactory, tmp_path: Path
) -> None:
    """Segments of ~7.5 MB (a camera replaying a clip of noise) go up in parts of 5 MiB, slowly
    (an 8 Mbit/s cap); the engine is killed (SIGKILL) once the index holds a part of one.
    Restarted, it asks the store which parts it holds and sends the rest: the object is
    complete and right, and the store keeps no upload that the queue does not know (every
    unfinished upload is one the queue resumes)."""
    clip = make_noise_clip(tmp_path / "noise.mp4", seconds=4)
    archive = seaweedfs.archive_options(bucket, copy="all", part_size="5MiB", multipart_threshold="5MiB", max_mbps=8)
    camera = {"id": "yard", "url": clip.as_uri(), "motion": {"enabled": False}}
    engine = engine_factory({"segment_seconds": 4, "archive": archive, "cameras": [camera]})
    row = engine.wait_for(
        lambda: engine.query("SELECT * FROM archive_queue WHERE parts != '[]' AND state = 'pending'"),
        60,
        "a multipart upload with a part done",
    )[0]
    engine.kill()
    segment_id, key = row["segment_id"], row["object_key"]
    assert row["upload_id"]
    assert [upload["UploadId"] for upload in seaweedfs.pending_uploads(bucket)].count(row["upload_id"]) == 1
    engine.config["archive"] = {**archive, "max_mbps": None}
    engine.start()
    done = engine.wait_for(
        lambda: engine.query("SELECT * FROM archive_queue WHERE segment_id = ? AND state = 'done'", (segment_id,)),
        60,
        "the killed upload to complete",
    )[0]
    assert done["object_key"] == key
    assert "resuming the upload of" in engine.log()
    local = (engine.recordings / done["path"]).read_bytes()
    obj = seaweedfs.client().get_object(Bucket=bucket, Key=key)
    assert len(local) > 5 * MIB
    assert obj["ETag"].strip('"').endswith(f"-{-(-len(local) // (5 * MIB))}")
    body = obj["Body"].read()
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(local).hexdigest() == obj["Metadata"]["vigil-sha256"]
    engine.stop()
    resumable = engine.query("SELECT upload_id FROM archive_queue WHERE upload_id IS NOT NULL")
    assert {upload["UploadId"] for upload in seaweedfs.pending_uploads(bucket)} <= {r["upload_id"] for r in resumable}


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("wrong_secret", "the store refused the credentials"),
        ("missing_bucket", "the bucket 'no-such-bucket' does not exist"),
    ],
)
def test_a_store_that_refuses_is_one_clear_error_and_recording_goes_on(
    case: str,
    expected: str,
    seaweedfs: SeaweedFS,
    bucket: str,
    engine_factory: EngineFactory,
    rtsp_camera: RtspCamera,
    tmp_path: Path,
) -> None:
    wrong_secret = "not-the-secret-x93"
    archive = seaweedfs.archive_options(bucket, copy="all")
    if case == "wrong_secret":
        archive["secret_access_key"] = wrong_secret
    else:
        archive["bucket"] = "no-such-bucket"
    engine = engine_factory(
        {"segment_seconds": 2, "archive": archive, "cameras": [{"id": "yard", "url": rtsp_camera.url("h264")}]}
    )
    engine.wait_for(lambda: len(engine.segments("yard")) >= 4, 40, "four segments")
    wait_until(lambda: expected in engine.log(), 10, "the error in the log")
    engine.stop()
    log = engine.log()
    errors = [line for line in log.splitlines() if " ERROR " in line]
    assert len([line for line in errors if "Archive:" in line]) == 1, errors
    assert expected in errors[0]
    assert "waits in the queue" in errors[0]
    assert wrong_secret not in log
    assert SECRET_KEY not in log
    # Recording went on: segments without a gap, queued for when the store works.
    assert engine.gaps("yard") == []
    assert engine.query("SELECT COUNT(*) AS n FROM archive_queue WHERE state = 'pending'")[0]["n"] >= 3
    assert seaweedfs.objects(bucket) == {}
