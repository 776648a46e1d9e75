"""Where photos are kept: a folder on this machine (the default) or an S3-compatible bucket.

`PHOTO_STORAGE=local` writes under UPLOAD_DIR; `PHOTO_STORAGE=s3` puts objects in
S3_BUCKET through boto3 (Aliyun OSS, Tencent COS, MinIO and AWS all speak it), so
several web processes on different machines serve the same photos. Keys are random
names; nothing here checks access (the attachment view does, before it serves).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from flask import Flask, current_app


class LocalStorage:
    """Files in one folder (UPLOAD_DIR)."""

    presigns = False

    def __init__(self, folder: str):
        self.folder = Path(folder)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / key
        try:
            path.write_bytes(data)
        except OSError:
            path.unlink(missing_ok=True)  # no half-written file
            raise

    def open(self, key: str) -> Iterator[bytes]:
        """The object's bytes in chunks (FileNotFoundError when absent)."""
        handle = (self.folder / key).open("rb")

        def chunks():
            with handle:
                while block := handle.read(64 * 1024):
                    yield block
        return chunks()

    def read(self, key: str) -> bytes:
        return (self.folder / key).read_bytes()

    def delete(self, key: str) -> None:
        (self.folder / key).unlink(missing_ok=True)

    def keys(self) -> list[str]:
        return sorted(p.name for p in self.folder.iterdir()) if self.folder.is_dir() else []


class S3Storage:
    """Objects in one bucket of an S3-compatible service, under an optional prefix."""

    def __init__(self, app: Flask):
        import boto3
        from botocore.config import Config as BotoConfig

        cfg = app.config
        self.bucket = cfg["S3_BUCKET"]
        self.prefix = cfg.get("S3_PREFIX", "")
        self.presigns = cfg.get("PHOTO_SERVE", "stream") == "presign"
        self.expires = int(cfg.get("PHOTO_URL_SECONDS", 300))
        self.client = boto3.client(
            "s3", endpoint_url=cfg.get("S3_ENDPOINT_URL") or None, region_name=cfg.get("S3_REGION") or "us-east-1",
            aws_access_key_id=cfg.get("S3_ACCESS_KEY_ID") or None,
            aws_secret_access_key=cfg.get("S3_SECRET_ACCESS_KEY") or None,
            config=BotoConfig(signature_version="s3v4", s3={"addressing_style": cfg.get("S3_ADDRESSING_STYLE", "path")},
                              retries={"max_attempts": 3, "mode": "standard"},
                              connect_timeout=5, read_timeout=30))

    def _key(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def put(self, key: str, data: bytes, content_type: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type)
        except (BotoCoreError, ClientError) as exc:
            raise OSError(f"object storage refused {key}: {exc}") from exc

    def open(self, key: str) -> Iterator[bytes]:
        from botocore.exceptions import ClientError
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except ClientError as exc:
            raise FileNotFoundError(key) from exc

        def chunks():
            try:
                yield from body.iter_chunks(64 * 1024)
            finally:
                body.close()
        return chunks()

    def read(self, key: str) -> bytes:
        return b"".join(self.open(key))

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def keys(self) -> list[str]:
        found = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            found += [o["Key"][len(self.prefix):] for o in page.get("Contents", [])]
        return sorted(found)

    def url(self, key: str, content_type: str, filename: str) -> str:
        """A link valid for PHOTO_URL_SECONDS, handed out only after the access check."""
        return self.client.generate_presigned_url("get_object", ExpiresIn=self.expires, Params={
            "Bucket": self.bucket, "Key": self._key(key), "ResponseContentType": content_type})


def storage(app: Flask | None = None) -> LocalStorage | S3Storage:
    """This app's photo storage (built once per app)."""
    app = app or current_app._get_current_object()
    found = app.extensions.get("portal_storage")
    if found is None:
        kind = app.config.get("PHOTO_STORAGE", "local")
        if kind == "s3":
            found = S3Storage(app)
        elif kind == "local":
            found = LocalStorage(app.config["UPLOAD_DIR"])
        else:
            raise RuntimeError(f"PHOTO_STORAGE must be 'local' or 's3', not {kind!r}")
        app.extensions["portal_storage"] = found
    return found
