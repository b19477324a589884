//! gocryptfs's control socket (`-ctlsock PATH`): a Unix socket that answers JSON
//! requests `{"EncryptPath": "a/b"}` or `{"DecryptPath": "x/y"}` with
//! `{"Result": …, "ErrNo": …, "ErrText": …, "WarnText": …}`, paths relative to the
//! mount root. Tools (and gocryptfs's own tests) use it to map names without mounting
//! a second view.

use crate::gocryptfs::Volume;
use crate::gocryptfs::names::{DiskName, LONGNAME_SUFFIX, is_hashed_long_name};
use crate::gocryptfs::offline;
use serde::{Deserialize, Serialize};
use std::io::{BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Deserialize, Default)]
struct Request {
    #[serde(rename = "EncryptPath", default)]
    encrypt_path: Option<String>,
    #[serde(rename = "DecryptPath", default)]
    decrypt_path: Option<String>,
}

#[derive(Serialize, Default)]
struct Response {
    #[serde(rename = "Result")]
    result: String,
    #[serde(rename = "ErrNo")]
    err_no: i32,
    #[serde(rename = "ErrText")]
    err_text: String,
    #[serde(rename = "WarnText")]
    warn_text: String,
}

fn failure(errno: rustix::io::Errno, text: impl Into<String>) -> Response {
    Response { err_no: errno.raw_os_error(), err_text: text.into(), ..Response::default() }
}

/// Serves connections until the process ends.
pub fn serve(listener: UnixListener, volume: Arc<Volume>, cipher_dir: PathBuf) {
    for stream in listener.incoming().flatten() {
        let (volume, cipher_dir) = (Arc::clone(&volume), cipher_dir.clone());
        std::thread::spawn(move || handle(stream, &|request| answer(request, &volume, &cipher_dir)));
    }
}

/// A failure as the socket reports it: gocryptfs's ErrNo (an errno, or -1) and text.
pub type PathMapError = (i32, String);

/// The path mapping of a mount that is not the forward one (reverse mode's, in
/// src/vaultfs/reverse), answered with the same protocol.
pub trait PathMap: Send + Sync + 'static {
    fn encrypt_path(&self, plain: &str) -> Result<String, PathMapError>;
    fn decrypt_path(&self, cipher: &str) -> Result<String, PathMapError>;
}

/// Serves connections with `map` until the process ends.
pub fn serve_map(listener: UnixListener, map: Arc<dyn PathMap>) {
    for stream in listener.incoming().flatten() {
        let map = Arc::clone(&map);
        std::thread::spawn(move || handle(stream, &|request| answer_map(request, &*map)));
    }
}

fn answer_map(request: &Request, map: &dyn PathMap) -> Response {
    // gocryptfs's clients send both keys, the unused one empty.
    let given = |p: &Option<String>| p.clone().filter(|p| !p.is_empty());
    let result = match (given(&request.encrypt_path), given(&request.decrypt_path)) {
        (Some(path), None) => map.encrypt_path(&path),
        (None, Some(path)) => map.decrypt_path(&path),
        _ => return failure(rustix::io::Errno::INVAL, "give exactly one of EncryptPath and DecryptPath"),
    };
    match result {
        Ok(path) => Response { result: path, ..Response::default() },
        Err((err_no, err_text)) => Response { err_no, err_text, ..Response::default() },
    }
}

fn handle(stream: UnixStream, answer: &dyn Fn(&Request) -> Response) {
    let Ok(mut writer) = stream.try_clone() else { return };
    // One JSON object per request; gocryptfs clients send it without a newline, so each
    // complete object is answered as soon as it has arrived.
    let requests = serde_json::Deserializer::from_reader(BufReader::new(stream)).into_iter::<Request>();
    for request in requests {
        let response = match request {
            Ok(request) => answer(&request),
            Err(e) => failure(rustix::io::Errno::INVAL, format!("bad request: {e}")),
        };
        let Ok(mut text) = serde_json::to_vec(&response) else { return };
        text.push(b'\n');
        if writer.write_all(&text).is_err() {
            return;
        }
    }
}

fn answer(request: &Request, volume: &Volume, cipher_dir: &Path) -> Response {
    let result = match (&request.encrypt_path, &request.decrypt_path) {
        (Some(path), None) => encrypt_path(volume, cipher_dir, path),
        (None, Some(path)) => decrypt_path(volume, cipher_dir, path),
        _ => return failure(rustix::io::Errno::INVAL, "give exactly one of EncryptPath and DecryptPath"),
    };
    match result {
        Ok(path) => Response { result: path, ..Response::default() },
        Err((errno, text)) => failure(errno, text),
    }
}

type Failed = (rustix::io::Errno, String);

fn components(path: &str) -> Vec<&str> {
    path.split('/').filter(|c| !c.is_empty() && *c != ".").collect()
}

fn encrypt_path(volume: &Volume, cipher_dir: &Path, plain: &str) -> Result<String, Failed> {
    let mut dir = cipher_dir.to_path_buf();
    let mut out = Vec::new();
    for part in components(plain) {
        let iv = offline::dir_iv(volume, &dir).map_err(|e| (rustix::io::Errno::NOENT, format!("{e:?}")))?;
        let disk =
            volume.names.encrypt(part.as_bytes(), &iv).map_err(|e| (rustix::io::Errno::INVAL, format!("{e:?}")))?;
        let name = match disk {
            DiskName::Short(n) | DiskName::Long { hashed: n, .. } => n,
        };
        dir.push(&name);
        out.push(name);
    }
    Ok(out.join("/"))
}

fn decrypt_path(volume: &Volume, cipher_dir: &Path, cipher: &str) -> Result<String, Failed> {
    let mut dir = cipher_dir.to_path_buf();
    let mut out = Vec::new();
    for part in components(cipher) {
        let iv = offline::dir_iv(volume, &dir).map_err(|e| (rustix::io::Errno::NOENT, format!("{e:?}")))?;
        let encoded = if is_hashed_long_name(part) {
            std::fs::read_to_string(dir.join(format!("{part}{LONGNAME_SUFFIX}")))
                .map_err(|e| (rustix::io::Errno::NOENT, format!("{part}: {e}")))?
        } else {
            part.to_string()
        };
        let plain =
            volume.names.decrypt(&encoded, &iv).map_err(|e| (rustix::io::Errno::INVAL, format!("{part}: {e:?}")))?;
        dir.push(part);
        out.push(String::from_utf8_lossy(&plain).into_owned());
    }
    Ok(out.join("/"))
}
