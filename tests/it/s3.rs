//! Object storage for real: an S3-protocol server (s3s-fs) run in-process on
//! loopback. Models are read from it and marts published to it. If the
//! server cannot start, the test fails; it never skips.

use std::collections::BTreeMap;
use std::path::Path;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use salesops::config::Config;
use salesops::storage::Storage;

use super::harness::check_round_trip;

const KEY: &str = "salesops-test";
const SECRET: &str = "salesops-test-secret";

struct S3Server {
    endpoint: String,
    _root: tempfile::TempDir,
}

fn start_server(bucket: &str) -> S3Server {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join(bucket)).unwrap();
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind an S3 server on loopback");
    listener.set_nonblocking(true).unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let fs = s3s_fs::FileSystem::new(root.path()).expect("start s3s-fs");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut b = S3ServiceBuilder::new(fs);
            b.set_auth(SimpleAuth::from_single(KEY, SECRET));
            let service = b.build();
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let (socket, _) = listener.accept().await.unwrap();
                let service = service.clone();
                tokio::spawn(async move {
                    let _ = ConnBuilder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
    });
    S3Server {
        endpoint,
        _root: root,
    }
}

fn options(endpoint: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("aws_endpoint".to_string(), endpoint.to_string()),
        ("aws_allow_http".to_string(), "true".to_string()),
        ("aws_access_key_id".to_string(), KEY.to_string()),
        ("aws_secret_access_key".to_string(), SECRET.to_string()),
        ("aws_region".to_string(), "us-east-1".to_string()),
    ])
}

pub fn upload(dir: &Path, prefix: &str, to: &Storage) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        let name = format!("{prefix}{}", p.file_name().unwrap().to_str().unwrap());
        if p.is_dir() {
            upload(&p, &format!("{name}/"), to);
        } else {
            to.put(&name, std::fs::read(&p).unwrap().into()).unwrap();
        }
    }
}

#[test]
fn reads_inputs_from_and_publishes_to_s3() {
    let server = start_server("salesops");
    let mut config = Config::from_file("tests/fixtures/hand/pipeline.toml").unwrap();
    config.storage_options = options(&server.endpoint);
    config.source = "s3://salesops/inputs".into();
    config.output = "s3://salesops/marts".into();
    let src = Storage::open(&config.source, &config.storage_options, false).unwrap();
    let out = Storage::open(&config.output, &config.storage_options, true).unwrap();
    check_round_trip(&config, &src, &out);
}
