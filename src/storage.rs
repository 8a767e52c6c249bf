//! Object storage, and the only module that does I/O.
//!
//! A `Storage` is a store plus a root prefix, made from a URL: a local path,
//! `file://`, `s3://`, `gs://`, `az://` or `memory://`. Cloud stores read
//! their credentials from the usual environment variables (AWS_*, GOOGLE_*,
//! AZURE_*) and from the pipeline's `storage_options`, and retry transient
//! failures with object_store's own backoff. The API is synchronous: the
//! pipeline is CPU work in polars, and the async store runs on one shared
//! I/O runtime, so polars is never called from inside an async task.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientOptions, ObjectMeta, ObjectStore, ObjectStoreExt, PutMode, PutOptions,
    PutPayload, RetryConfig, UpdateVersion,
};
use serde::Serialize;
use url::Url;

use crate::error::{Error, Result};

fn io_runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("salesops-io")
            .enable_all()
            .build()
            .expect("start the I/O runtime")
    })
}

/// `[storage]` of the pipeline file (SPEC §3): how hard a cloud store tries
/// before the run stops with exit 3.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StorageSettings {
    /// Retries of one request after a transient failure (5xx, timeout, reset).
    pub retries: u32,
    /// No retry starts after this many seconds from the first attempt.
    pub retry_timeout_seconds: f64,
    /// One request (connect to last byte) gives up after this many seconds.
    pub request_timeout_seconds: f64,
}

impl Default for StorageSettings {
    fn default() -> Self {
        StorageSettings {
            retries: 10,
            retry_timeout_seconds: 180.0,
            request_timeout_seconds: 30.0,
        }
    }
}

impl StorageSettings {
    fn retry(&self) -> RetryConfig {
        RetryConfig {
            backoff: BackoffConfig::default(),
            max_retries: self.retries as usize,
            retry_timeout: Duration::from_secs_f64(self.retry_timeout_seconds),
        }
    }

    fn client(&self) -> ClientOptions {
        let timeout = Duration::from_secs_f64(self.request_timeout_seconds);
        ClientOptions::new()
            .with_timeout(timeout)
            .with_connect_timeout(timeout)
    }
}

/// What identifies an input file's version: part of the run_id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Fingerprint {
    pub path: String,
    pub size: u64,
    /// ETag when the store has one, else the modification time.
    pub version: String,
}

/// The version of an object read for a later compare-and-swap.
#[derive(Debug, Clone)]
pub enum Version {
    /// The store's own version (ETag or generation): `PutMode::Update`.
    Store(UpdateVersion),
    /// A local file: its exact content, compared under an exclusive lock.
    /// Each publish writes a different run_id, so the content identifies it.
    Content(Bytes),
}

#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    root: Path,
    url: String,
    /// The folder of a local store: object_store leaves empty folders behind
    /// when it deletes files, so `delete_prefix` removes them; and a local
    /// filesystem has no conditional put, so `replace_if` locks a file here.
    local_dir: Option<PathBuf>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Storage({})", self.url)
    }
}

/// Whether a URL is a source to read or an output to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    /// Makes a missing local folder.
    Write,
}

impl Storage {
    /// Opens a URL with the default `[storage]` settings. `create` makes a
    /// missing local folder (for outputs).
    pub fn open(url: &str, options: &BTreeMap<String, String>, create: bool) -> Result<Storage> {
        let access = if create { Access::Write } else { Access::Read };
        Storage::open_with(url, options, &StorageSettings::default(), access)
    }

    /// Opens a URL. A local source folder that does not exist is an error
    /// that names it; a missing local output folder is made.
    pub fn open_with(
        url: &str,
        options: &BTreeMap<String, String>,
        settings: &StorageSettings,
        access: Access,
    ) -> Result<Storage> {
        let storage_err = |e: &dyn std::fmt::Display| Error::storage_msg(format!("{url}: {e}"));
        let parsed = Url::parse(url);
        let local_path = match &parsed {
            Ok(u) if u.scheme() == "file" => Some(
                u.to_file_path()
                    .map_err(|_| Error::Usage(format!("{url}: not a local file URL")))?,
            ),
            // A bare path, or a Windows drive letter parsed as a scheme.
            Err(_) => Some(PathBuf::from(url)),
            Ok(u) if u.scheme().len() == 1 => Some(PathBuf::from(url)),
            Ok(_) => None,
        };
        if let Some(path) = local_path {
            if access == Access::Write {
                std::fs::create_dir_all(&path)
                    .map_err(|e| Error::storage(format!("creating the folder {url}"), e))?;
            }
            let abs = std::path::absolute(&path).map_err(|e| storage_err(&e))?;
            if !abs.is_dir() {
                return Err(Error::Data(format!(
                    "the source folder {} does not exist (check `source` in the pipeline file or --source)",
                    abs.display()
                )));
            }
            let store = LocalFileSystem::new_with_prefix(&abs).map_err(|e| storage_err(&e))?;
            return Ok(Storage {
                store: Arc::new(store),
                root: Path::default(),
                url: url.to_string(),
                local_dir: Some(abs),
            });
        }
        let u = parsed.expect("checked above");
        let prefix = Path::from(u.path());
        // Every cloud builder the same way: from the environment, the URL,
        // the [storage] settings, then `storage_options` (a client key there
        // overrides the settings).
        macro_rules! cloud_store {
            ($builder:ty) => {{
                let mut b = <$builder>::from_env()
                    .with_url(url)
                    .with_retry(settings.retry())
                    .with_client_options(settings.client());
                for (k, v) in options {
                    if let Ok(key) = k.parse() {
                        b = b.with_config(key, v);
                    }
                }
                Arc::new(b.build().map_err(|e| storage_err(&e))?)
            }};
        }
        let store: Arc<dyn ObjectStore> = match u.scheme() {
            "memory" => {
                return Err(Error::Usage(format!(
                    "{url}: memory:// is an in-process store for tests; it cannot be given on \
                     the command line or in a pipeline file (use a local path, s3://, gs:// or az://)"
                )))
            }
            "s3" | "s3a" => cloud_store!(object_store::aws::AmazonS3Builder),
            "gs" => cloud_store!(object_store::gcp::GoogleCloudStorageBuilder),
            "az" | "abfs" | "abfss" | "azure" => {
                cloud_store!(object_store::azure::MicrosoftAzureBuilder)
            }
            other => {
                return Err(Error::Usage(format!(
                    "{url}: unsupported scheme `{other}`; use a local path, file://, s3://, gs:// or az://"
                )))
            }
        };
        Ok(Storage {
            store,
            root: prefix,
            url: url.to_string(),
            local_dir: None,
        })
    }

    /// A storage over a store the caller already has (tests, in-memory runs).
    pub fn from_store(store: Arc<dyn ObjectStore>, root: &str, url: &str) -> Storage {
        Storage {
            store,
            root: Path::from(root),
            url: url.to_string(),
            local_dir: None,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The full location of a relative path, for messages.
    pub fn display(&self, rel: &str) -> String {
        format!("{}/{}", self.url.trim_end_matches('/'), rel)
    }

    fn full(&self, rel: &str) -> Path {
        let mut p = self.root.clone();
        for part in rel.split('/').filter(|s| !s.is_empty()) {
            p = p.clone().join(part);
        }
        p
    }

    fn relative(&self, p: &Path) -> String {
        match p.prefix_match(&self.root) {
            Some(parts) => parts
                .map(|s| s.as_ref().to_string())
                .collect::<Vec<_>>()
                .join("/"),
            None => p.to_string(),
        }
    }

    /// Every object under `rel`, recursively, as (relative path, metadata),
    /// in lexicographic order of the path. A missing prefix is empty.
    pub fn list(&self, rel: &str) -> Result<Vec<(String, ObjectMeta)>> {
        let prefix = self.full(rel);
        let store = self.store.clone();
        let metas: Vec<ObjectMeta> = io_runtime()
            .block_on(async move { store.list(Some(&prefix)).try_collect().await })
            .or_else(|e| match e {
                object_store::Error::NotFound { .. } => Ok(vec![]),
                e => Err(Error::storage(format!("listing {}", self.display(rel)), e)),
            })?;
        let mut out: Vec<(String, ObjectMeta)> = metas
            .into_iter()
            .map(|m| (self.relative(&m.location), m))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Reads several objects at once (a few requests in flight).
    pub fn get_many(&self, rels: &[String]) -> Result<Vec<Bytes>> {
        let paths: Vec<(String, Path)> = rels.iter().map(|r| (r.clone(), self.full(r))).collect();
        let store = self.store.clone();
        let this = self.clone();
        io_runtime().block_on(async move {
            futures::stream::iter(paths)
                .map(|(rel, p)| {
                    let store = store.clone();
                    let this = this.clone();
                    async move {
                        let r = store.get(&p).await;
                        match r {
                            Ok(g) => g.bytes().await,
                            Err(e) => Err(e),
                        }
                        .map_err(|e| Error::storage(format!("reading {}", this.display(&rel)), e))
                    }
                })
                .buffered(8)
                .try_collect()
                .await
        })
    }

    /// Some bytes of an object (a header, a footer).
    pub fn get_range(&self, rel: &str, range: std::ops::Range<u64>) -> Result<Bytes> {
        let p = self.full(rel);
        let store = self.store.clone();
        io_runtime()
            .block_on(async move { store.get_range(&p, range).await })
            .map_err(|e| Error::storage(format!("reading {}", self.display(rel)), e))
    }

    pub fn get(&self, rel: &str) -> Result<Bytes> {
        Ok(self.get_many(&[rel.to_string()])?.remove(0))
    }

    /// `None` when the object does not exist.
    pub fn get_opt(&self, rel: &str) -> Result<Option<Bytes>> {
        Ok(self.get_versioned(rel)?.map(|(bytes, _)| bytes))
    }

    /// The object and its version for a later `replace_if`; `None` when it
    /// does not exist.
    pub fn get_versioned(&self, rel: &str) -> Result<Option<(Bytes, Version)>> {
        let p = self.full(rel);
        let store = self.store.clone();
        let local = self.local_dir.is_some();
        io_runtime()
            .block_on(async move {
                match store.get(&p).await {
                    Ok(g) => {
                        let version = UpdateVersion {
                            e_tag: g.meta.e_tag.clone(),
                            version: g.meta.version.clone(),
                        };
                        let bytes = g.bytes().await?;
                        let version = if local {
                            Version::Content(bytes.clone())
                        } else {
                            Version::Store(version)
                        };
                        Ok(Some((bytes, version)))
                    }
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .map_err(|e| Error::storage(format!("reading {}", self.display(rel)), e))
    }

    pub fn put(&self, rel: &str, bytes: Bytes) -> Result<()> {
        self.put_mode(rel, bytes, PutMode::Overwrite)
            .map_err(|e| Error::storage(format!("writing {}", self.display(rel)), e))
    }

    fn put_mode(&self, rel: &str, bytes: Bytes, mode: PutMode) -> object_store::Result<()> {
        let p = self.full(rel);
        let store = self.store.clone();
        io_runtime().block_on(async move {
            store
                .put_opts(
                    &p,
                    PutPayload::from(bytes),
                    PutOptions {
                        mode,
                        ..Default::default()
                    },
                )
                .await
                .map(|_| ())
        })
    }

    /// Writes an object only if none exists at `rel`; `false` when one did.
    pub fn create(&self, rel: &str, bytes: Bytes) -> Result<bool> {
        match self.put_mode(rel, bytes, PutMode::Create) {
            Ok(()) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => Ok(false),
            Err(e) => Err(Error::storage(
                format!("creating {} (if absent)", self.display(rel)),
                e,
            )),
        }
    }

    /// Compare-and-swap: replaces `rel` only when it is still at `expected`
    /// (`None`: only when it still does not exist). `false` when another
    /// writer changed it first; nothing is written then.
    pub fn replace_if(&self, rel: &str, bytes: Bytes, expected: Option<&Version>) -> Result<bool> {
        if let Some(dir) = &self.local_dir {
            return replace_local_if(&dir.join(rel), &bytes, expected)
                .map_err(|e| Error::storage(format!("replacing {}", self.display(rel)), e));
        }
        let mode = match expected {
            None => PutMode::Create,
            Some(Version::Store(v)) => PutMode::Update(v.clone()),
            Some(Version::Content(_)) => {
                unreachable!("content versions come only from local folders")
            }
        };
        match self.put_mode(rel, bytes, mode) {
            Ok(()) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => Ok(false),
            Err(e @ object_store::Error::NotImplemented { .. }) => Err(Error::storage(
                format!(
                    "replacing {}: this store has no conditional put, which publishing \
                     needs so that overlapping runs cannot overwrite each other",
                    self.display(rel)
                ),
                e,
            )),
            Err(e) => Err(Error::storage(
                format!("replacing {}", self.display(rel)),
                e,
            )),
        }
    }

    /// Deletes one object; one that does not exist is no error.
    pub fn delete(&self, rel: &str) -> Result<()> {
        let p = self.full(rel);
        let store = self.store.clone();
        io_runtime()
            .block_on(async move {
                match store.delete(&p).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                    Err(e) => Err(e),
                }
            })
            .map_err(|e| Error::storage(format!("deleting {}", self.display(rel)), e))
    }

    /// Deletes every object under `rel`.
    pub fn delete_prefix(&self, rel: &str) -> Result<()> {
        let objects = self.list(rel)?;
        let store = self.store.clone();
        io_runtime()
            .block_on(async move {
                for (_, m) in objects {
                    match store.delete(&m.location).await {
                        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            })
            .map_err(|e| Error::storage(format!("deleting {}", self.display(rel)), e))?;
        if let Some(dir) = &self.local_dir {
            let folder = dir.join(rel);
            if folder.is_dir() {
                std::fs::remove_dir_all(&folder)
                    .map_err(|e| Error::storage(format!("deleting {}", folder.display()), e))?;
            }
        }
        Ok(())
    }
}

/// A local filesystem has no conditional put: an exclusive lock on a file
/// beside the target serialises read-compare-rename between processes, and
/// the rename makes the new content appear at once.
fn replace_local_if(
    target: &std::path::Path,
    bytes: &[u8],
    expected: Option<&Version>,
) -> std::io::Result<bool> {
    let dir = target.parent().expect("a file in a folder");
    let name = target
        .file_name()
        .expect("a file name")
        .to_string_lossy()
        .to_string();
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(format!(".{name}.lock")))?;
    lock.lock()?;
    let current = match std::fs::read(target) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let unchanged = match (current.as_deref(), expected) {
        (None, None) => true,
        (Some(now), Some(Version::Content(then))) => now == then.as_ref(),
        _ => false,
    };
    if unchanged {
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, target)?;
    }
    lock.unlock()?;
    Ok(unchanged)
}

pub fn fingerprint(rel: &str, meta: &ObjectMeta) -> Fingerprint {
    Fingerprint {
        path: rel.to_string(),
        size: meta.size,
        version: meta
            .e_tag
            .clone()
            .unwrap_or_else(|| meta.last_modified.to_rfc3339()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    #[test]
    fn lists_recursively_in_path_order_and_reads_back() {
        let s = Storage::from_store(Arc::new(InMemory::new()), "root", "memory:///root");
        s.put("t/b.csv", Bytes::from_static(b"b")).unwrap();
        s.put("t/a/z.csv", Bytes::from_static(b"z")).unwrap();
        s.put("t/_SUCCESS", Bytes::from_static(b"")).unwrap();
        s.put("tother/x.csv", Bytes::from_static(b"x")).unwrap();
        let names: Vec<String> = s.list("t").unwrap().into_iter().map(|(p, _)| p).collect();
        assert_eq!(names, ["t/_SUCCESS", "t/a/z.csv", "t/b.csv"]);
        assert_eq!(s.get("t/a/z.csv").unwrap().as_ref(), b"z");
        assert!(s.get_opt("t/none").unwrap().is_none());
        assert!(s.list("missing").unwrap().is_empty());
        s.delete_prefix("t").unwrap();
        assert!(s.list("t").unwrap().is_empty());
        assert_eq!(s.list("tother").unwrap().len(), 1);
    }

    #[test]
    fn a_local_folder_is_a_store() {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::open(dir.path().to_str().unwrap(), &BTreeMap::new(), false).unwrap();
        s.put("a/b.json", Bytes::from_static(b"{}")).unwrap();
        assert!(dir.path().join("a/b.json").exists());
        assert_eq!(s.list("a").unwrap()[0].0, "a/b.json");
    }
}
