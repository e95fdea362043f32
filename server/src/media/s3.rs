//! The blob store on S3-compatible object storage (AWS S3, MinIO, Ceph, R2, …), through the
//! `object_store` crate. Uploads are staged on local disk first (counted, hashed, sniffed), then
//! sent: one `PUT` for small files, a multipart upload in 8 MiB parts for large ones. An object
//! appears whole or not at all, as S3 guarantees. Storing a key again re-uploads it, which also
//! marks it used now (its `Last-Modified`), so the garbage collector spares it.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use tokio::io::AsyncReadExt;

use super::blob::{BlobRead, BlobStore, valid_key};

/// Files up to this size go up in one `PUT`; larger ones in parts of this size.
const PART: usize = 8 * 1024 * 1024;

/// Where and how to reach the bucket.
#[derive(Clone)]
pub struct S3Config {
    pub bucket: String,
    /// `https://s3.eu-west-1.amazonaws.com`, `http://127.0.0.1:9000`, …; none: AWS by region.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// `bucket.host/key` instead of `host/bucket/key`.
    pub virtual_hosted_style: bool,
    /// A folder inside the bucket for this server's blobs (`switchboard/`).
    pub prefix: String,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"***")
            .finish_non_exhaustive()
    }
}

/// Blobs as objects of one bucket.
pub struct S3Blobs {
    store: Arc<AmazonS3>,
    prefix: String,
    staging: PathBuf,
}

impl std::fmt::Debug for S3Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Blobs").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

fn io_err(e: object_store::Error) -> io::Error {
    io::Error::from(e)
}

impl S3Blobs {
    /// The bucket, with staging files under `staging` (a local directory, created if missing).
    pub fn new(config: &S3Config, staging: impl Into<PathBuf>) -> io::Result<Self> {
        // One TLS provider for the process (ring, which the rest of the server already uses).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(&config.secret_access_key)
            .with_virtual_hosted_style_request(config.virtual_hosted_style);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
        }
        let store = builder.build().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let staging = staging.into();
        std::fs::create_dir_all(&staging)?;
        for entry in std::fs::read_dir(&staging)?.flatten() {
            let _ = std::fs::remove_file(entry.path());
        }
        let prefix = config.prefix.trim_matches('/').to_owned();
        Ok(Self { store: Arc::new(store), prefix, staging })
    }

    fn path(&self, key: &str) -> io::Result<ObjectPath> {
        if !valid_key(key) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("not a blob key: {key:?}")));
        }
        let key = format!("{}/{}/{key}", &key[0..2], &key[2..4]);
        Ok(if self.prefix.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{key}", self.prefix))
        })
    }
}

#[async_trait]
impl BlobStore for S3Blobs {
    fn staging_dir(&self) -> &Path {
        &self.staging
    }

    async fn put_file(&self, key: &str, staged: &Path) -> io::Result<()> {
        let path = self.path(key)?;
        let mut file = tokio::fs::File::open(staged).await?;
        let size = file.metadata().await?.len();
        if size <= PART as u64 {
            let mut bytes = Vec::with_capacity(size as usize);
            file.read_to_end(&mut bytes).await?;
            self.store.put(&path, PutPayload::from(bytes)).await.map_err(io_err)?;
        } else {
            let upload = self.store.put_multipart(&path).await.map_err(io_err)?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
            let mut buf = vec![0u8; 1024 * 1024];
            let sent: io::Result<()> = async {
                loop {
                    let n = file.read(&mut buf).await?;
                    if n == 0 {
                        return Ok(());
                    }
                    writer.wait_for_capacity(4).await.map_err(io_err)?;
                    writer.write(&buf[..n]);
                }
            }
            .await;
            match sent {
                Ok(()) => {
                    writer.finish().await.map_err(io_err)?;
                }
                Err(e) => {
                    // No parts left behind in the bucket.
                    let _ = writer.abort().await;
                    return Err(e);
                }
            }
        }
        drop(file);
        tokio::fs::remove_file(staged).await
    }

    async fn size(&self, key: &str) -> io::Result<u64> {
        Ok(self.store.head(&self.path(key)?).await.map_err(io_err)?.size)
    }

    async fn open(&self, key: &str, start: u64, len: Option<u64>) -> io::Result<BlobRead> {
        let path = self.path(key)?;
        let range = match len {
            Some(len) => GetRange::Bounded(start..start + len.max(1)),
            None if start > 0 => GetRange::Offset(start),
            None => GetRange::Offset(0),
        };
        let got =
            self.store.get_opts(&path, GetOptions::new().with_range(Some(range))).await.map_err(io_err)?;
        let total = got.meta.size;
        let stream = got.into_stream().map(|chunk| chunk.map_err(io_err));
        Ok(BlobRead { total, body: Box::pin(stream) })
    }

    async fn delete_if_idle(&self, key: &str, idle_since: SystemTime) -> io::Result<bool> {
        let path = self.path(key)?;
        let meta = match self.store.head(&path).await {
            Ok(meta) => meta,
            Err(object_store::Error::NotFound { .. }) => return Ok(false),
            Err(e) => return Err(io_err(e)),
        };
        // S3 keeps whole seconds: a blob stored in the same second as `idle_since` (or the one
        // before) counts as used since.
        if SystemTime::from(meta.last_modified) + std::time::Duration::from_secs(2) > idle_since {
            return Ok(false);
        }
        match self.store.delete(&path).await {
            Ok(()) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(io_err(e)),
        }
    }
}
