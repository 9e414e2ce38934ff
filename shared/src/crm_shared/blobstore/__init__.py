"""The blob store port (files: uploads, exports, reports, later raw mail and attachments) and its
adapters: files under the data folder (embedded) and S3-compatible object storage through obstore."""

from crm_shared.blobstore.port import BlobInfo, BlobNotFound, BlobStore, Chunks, check_key, check_prefix

__all__ = ["BlobInfo", "BlobNotFound", "BlobStore", "Chunks", "check_key", "check_prefix"]
