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

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload};
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

/// What identifies an input file's version: part of the run_id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Fingerprint {
    pub path: String,
    pub size: u64,
    /// ETag when the store has one, else the modification time.
    pub version: String,
}

#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    root: Path,
    url: String,
    /// The folder of a local store: object_store leaves empty folders behind
    /// when it deletes files, so `delete_prefix` removes them.
    local_dir: Option<PathBuf>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Storage({})", self.url)
    }
}

impl Storage {
    /// Opens a URL. `create` makes a missing local folder (for outputs).
    pub fn open(url: &str, options: &BTreeMap<String, String>, create: bool) -> Result<Storage> {
        let storage_err = |e: &dyn std::fmt::Display| Error::Storage(format!("{url}: {e}"));
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
            if create {
                std::fs::create_dir_all(&path).map_err(|e| storage_err(&e))?;
            }
            let abs = std::path::absolute(&path).map_err(|e| storage_err(&e))?;
            if !abs.exists() {
                // An absent source folder reads as "no files"; let the table
                // reader say which required table is missing.
                return Ok(Storage {
                    store: Arc::new(InMemory::new()),
                    root: Path::default(),
                    url: url.to_string(),
                    local_dir: None,
                });
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
        let (store, root): (Arc<dyn ObjectStore>, Path) = match u.scheme() {
            "memory" => (Arc::new(InMemory::new()), Path::from(u.path())),
            "s3" | "s3a" => {
                let mut b = object_store::aws::AmazonS3Builder::from_env().with_url(url);
                for (k, v) in options {
                    if let Ok(key) = k.parse() {
                        b = b.with_config(key, v);
                    }
                }
                (Arc::new(b.build().map_err(|e| storage_err(&e))?), Path::from(u.path()))
            }
            "gs" => {
                let mut b = object_store::gcp::GoogleCloudStorageBuilder::from_env().with_url(url);
                for (k, v) in options {
                    if let Ok(key) = k.parse() {
                        b = b.with_config(key, v);
                    }
                }
                (Arc::new(b.build().map_err(|e| storage_err(&e))?), Path::from(u.path()))
            }
            "az" | "abfs" | "abfss" | "azure" => {
                let mut b = object_store::azure::MicrosoftAzureBuilder::from_env().with_url(url);
                for (k, v) in options {
                    if let Ok(key) = k.parse() {
                        b = b.with_config(key, v);
                    }
                }
                (Arc::new(b.build().map_err(|e| storage_err(&e))?), Path::from(u.path()))
            }
            other => {
                return Err(Error::Usage(format!(
                    "{url}: unsupported scheme `{other}`; use a local path, file://, s3://, gs://, az:// or memory://"
                )))
            }
        };
        Ok(Storage {
            store,
            root,
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
                e => Err(Error::Storage(format!(
                    "listing {}: {e}",
                    self.display(rel)
                ))),
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
                        .map_err(|e| Error::Storage(format!("reading {}: {e}", this.display(&rel))))
                    }
                })
                .buffered(8)
                .try_collect()
                .await
        })
    }

    pub fn get(&self, rel: &str) -> Result<Bytes> {
        Ok(self.get_many(&[rel.to_string()])?.remove(0))
    }

    /// `None` when the object does not exist.
    pub fn get_opt(&self, rel: &str) -> Result<Option<Bytes>> {
        let p = self.full(rel);
        let store = self.store.clone();
        io_runtime()
            .block_on(async move {
                match store.get(&p).await {
                    Ok(g) => g.bytes().await.map(Some),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .map_err(|e| Error::Storage(format!("reading {}: {e}", self.display(rel))))
    }

    pub fn put(&self, rel: &str, bytes: Bytes) -> Result<()> {
        let p = self.full(rel);
        let store = self.store.clone();
        io_runtime()
            .block_on(async move { store.put(&p, PutPayload::from(bytes)).await })
            .map(|_| ())
            .map_err(|e| Error::Storage(format!("writing {}: {e}", self.display(rel))))
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
            .map_err(|e| Error::Storage(format!("deleting {}: {e}", self.display(rel))))?;
        if let Some(dir) = &self.local_dir {
            let folder = dir.join(rel);
            if folder.is_dir() {
                std::fs::remove_dir_all(&folder)
                    .map_err(|e| Error::Storage(format!("deleting {}: {e}", folder.display())))?;
            }
        }
        Ok(())
    }
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
