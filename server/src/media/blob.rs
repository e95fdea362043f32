//! The blob store port and its local implementation: bytes by key, written whole or not at all.
//!
//! Keys are content addresses (the SHA-256 of the bytes, in hex), so the same file uploaded
//! twice is stored once. A file is first written in full to a staging file (see
//! `staging.rs`), then handed to [`BlobStore::put_file`]; the local store moves it into place
//! with one rename, so a reader never sees a partial file.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::Stream;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt};

/// A blob's bytes (or a range of them), to stream out.
pub struct BlobRead {
    /// The whole blob's length.
    pub total: u64,
    pub body: Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>,
}

/// An `AsyncRead` as a stream of chunks (ending after an error).
pub fn chunks(body: impl AsyncRead + Send + Unpin + 'static) -> impl Stream<Item = io::Result<Bytes>> + Send {
    futures_util::stream::unfold(Some((body, vec![0u8; 64 * 1024])), |state| async move {
        let (mut body, mut buf) = state?;
        match body.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => Some((Ok(Bytes::copy_from_slice(&buf[..n])), Some((body, buf)))),
            Err(e) => Some((Err(e), None)),
        }
    })
}

/// Where attachments' bytes live.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// A directory for staging files, from which [`put_file`](Self::put_file) takes them.
    fn staging_dir(&self) -> &Path;
    /// Stores the staged file's bytes under `key` (taking the file). Storing a key that exists
    /// keeps the bytes and marks the blob used now, so the garbage collector spares it.
    async fn put_file(&self, key: &str, staged: &Path) -> io::Result<()>;
    /// The blob's length in bytes.
    async fn size(&self, key: &str) -> io::Result<u64>;
    /// Reads `len` bytes (at least one) from `start`; the rest from `start` when `len` is `None`.
    async fn open(&self, key: &str, start: u64, len: Option<u64>) -> io::Result<BlobRead>;
    /// Deletes the blob unless it was stored or marked used after `idle_since`; whether it
    /// was deleted.
    async fn delete_if_idle(&self, key: &str, idle_since: SystemTime) -> io::Result<bool>;
}

/// Checks a key before it names a path: 64 lowercase hex digits, or that with a `.thumb`
/// suffix.
pub fn valid_key(key: &str) -> bool {
    let hash = key.strip_suffix(".thumb").unwrap_or(key);
    hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn bad_key(key: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("not a blob key: {key:?}"))
}

/// Blobs as files under one directory: `ab/cd/abcd…` (two levels of fan-out), with staging
/// files in `tmp/` on the same file system so a rename moves them into place.
#[derive(Clone, Debug)]
pub struct LocalBlobs {
    root: PathBuf,
    staging: PathBuf,
}

impl LocalBlobs {
    /// Blobs under `root` (created if missing).
    pub fn open_dir(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        let staging = root.join("tmp");
        std::fs::create_dir_all(&staging)?;
        // Staging files a crash left behind are never referenced: clear them.
        for entry in std::fs::read_dir(&staging)?.flatten() {
            let _ = std::fs::remove_file(entry.path());
        }
        Ok(Self { root, staging })
    }

    fn path(&self, key: &str) -> io::Result<PathBuf> {
        if !valid_key(key) {
            return Err(bad_key(key));
        }
        Ok(self.root.join(&key[0..2]).join(&key[2..4]).join(key))
    }
}

#[async_trait]
impl BlobStore for LocalBlobs {
    fn staging_dir(&self) -> &Path {
        &self.staging
    }

    async fn put_file(&self, key: &str, staged: &Path) -> io::Result<()> {
        let path = self.path(key)?;
        if tokio::fs::try_exists(&path).await? {
            tokio::fs::remove_file(staged).await?;
            // Marked used now: a collector that found it unreferenced a moment ago spares it.
            let file = std::fs::File::options().append(true).open(&path)?;
            file.set_modified(SystemTime::now())?;
            return Ok(());
        }
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        tokio::fs::rename(staged, &path).await
    }

    async fn size(&self, key: &str) -> io::Result<u64> {
        Ok(tokio::fs::metadata(self.path(key)?).await?.len())
    }

    async fn open(&self, key: &str, start: u64, len: Option<u64>) -> io::Result<BlobRead> {
        let mut file = tokio::fs::File::open(self.path(key)?).await?;
        let total = file.metadata().await?.len();
        file.seek(io::SeekFrom::Start(start.min(total))).await?;
        let body: Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>> = match len {
            Some(len) => Box::pin(chunks(file.take(len))),
            None => Box::pin(chunks(file)),
        };
        Ok(BlobRead { total, body })
    }

    async fn delete_if_idle(&self, key: &str, idle_since: SystemTime) -> io::Result<bool> {
        let path = self.path(key)?;
        let modified = match tokio::fs::metadata(&path).await {
            Ok(meta) => meta.modified()?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        if modified > idle_since {
            return Ok(false);
        }
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    #[tokio::test]
    async fn a_blob_is_moved_into_place_whole_and_read_by_range() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = LocalBlobs::open_dir(dir.path()).unwrap();
        let staged = blobs.staging_dir().join("one");
        std::fs::write(&staged, b"hello world").unwrap();
        blobs.put_file(KEY, &staged).await.unwrap();
        assert!(!staged.exists(), "the staging file is taken");
        assert!(dir.path().join("2c/f2").join(KEY).exists());

        let read = blobs.open(KEY, 6, Some(3)).await.unwrap();
        let total = read.total;
        let out: Vec<Bytes> = futures_util::StreamExt::collect::<Vec<_>>(read.body)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!((total, out.concat().as_slice()), (11, &b"wor"[..]));
        assert_eq!(blobs.size(KEY).await.unwrap(), 11);

        // The same bytes again: the staged copy is dropped, the blob kept and marked used.
        let again = blobs.staging_dir().join("two");
        std::fs::write(&again, b"hello world").unwrap();
        let before = SystemTime::now() - std::time::Duration::from_secs(1);
        blobs.put_file(KEY, &again).await.unwrap();
        assert!(!again.exists());
        assert!(!blobs.delete_if_idle(KEY, before).await.unwrap(), "a blob used since is spared");
        assert!(blobs.delete_if_idle(KEY, SystemTime::now()).await.unwrap());
        assert!(blobs.open(KEY, 0, None).await.is_err());
    }

    #[tokio::test]
    async fn keys_never_name_paths_outside_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = LocalBlobs::open_dir(dir.path()).unwrap();
        for key in ["../../etc/passwd", "", "ABCD", &format!("{}/x", &KEY[..62])] {
            assert!(blobs.open(key, 0, None).await.is_err(), "{key}");
        }
        assert!(valid_key(KEY) && valid_key(&format!("{KEY}.thumb")));
    }

    #[test]
    fn leftover_staging_files_are_cleared_on_open() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
        std::fs::write(dir.path().join("tmp/half"), b"partial").unwrap();
        LocalBlobs::open_dir(dir.path()).unwrap();
        assert!(!dir.path().join("tmp/half").exists());
    }
}
