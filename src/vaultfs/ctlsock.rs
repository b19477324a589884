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

/// gocryptfs's clients send both fields, the unused one empty.
#[derive(Deserialize, Default)]
struct Request {
    #[serde(rename = "EncryptPath", default)]
    encrypt_path: String,
    #[serde(rename = "DecryptPath", default)]
    decrypt_path: String,
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

/// A request gocryptfs refuses before looking at any path: its ErrNo is -1.
fn refusal(text: &str, warn_text: String) -> Response {
    Response { err_no: -1, err_text: text.into(), warn_text, ..Response::default() }
}

/// Serves the forward mount's mapping until the process ends.
pub fn serve(listener: UnixListener, volume: Arc<Volume>, cipher_dir: PathBuf) {
    serve_map(listener, Arc::new(ForwardMap { volume, cipher_dir }));
}

/// The forward mount's names: plaintext paths to cipher paths and back, from the cipher
/// directory's IVs and long-name files.
struct ForwardMap {
    volume: Arc<Volume>,
    cipher_dir: PathBuf,
}

impl PathMap for ForwardMap {
    fn encrypt_path(&self, plain: &str) -> Result<String, PathMapError> {
        encrypt_path(&self.volume, &self.cipher_dir, plain).map_err(|(errno, text)| (errno.raw_os_error(), text))
    }
    fn decrypt_path(&self, cipher: &str) -> Result<String, PathMapError> {
        decrypt_path(&self.volume, &self.cipher_dir, cipher).map_err(|(errno, text)| (errno.raw_os_error(), text))
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

/// One request, checked and put in canonical form as gocryptfs does for either mode,
/// then answered by `map`.
fn answer_map(request: &Request, map: &dyn PathMap) -> Response {
    let (given, encrypt) = match (request.encrypt_path.as_str(), request.decrypt_path.as_str()) {
        ("", "") => return refusal("Empty input", String::new()),
        (path, "") => (path, true),
        ("", path) => (path, false),
        _ => return refusal("Ambiguous", String::new()),
    };
    // A path that is not in canonical form is answered for its canonical form, with a
    // warning saying so (gocryptfs does the same), rather than refused.
    let clean = canonical(given);
    let warn_text = if clean == given {
        String::new()
    } else {
        format!("Non-canonical input path '{given}' has been interpreted as '{clean}'.")
    };
    if clean.is_empty() {
        return refusal("Empty input after canonicalization", warn_text);
    }
    let result = if encrypt { map.encrypt_path(&clean) } else { map.decrypt_path(&clean) };
    match result {
        Ok(path) => Response { result: path, warn_text, ..Response::default() },
        Err((err_no, err_text)) => Response { err_no, err_text, warn_text, ..Response::default() },
    }
}

/// `path` relative to the mount root in canonical form: no leading, trailing or doubled
/// slashes, no `.`, `..` resolved; empty for the root itself and for anything that
/// climbs above it.
fn canonical(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return String::new();
                }
            }
            name => parts.push(name),
        }
    }
    parts.join("/")
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

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn paths_are_read_in_canonical_form() {
        for (given, clean) in [
            ("foo", "foo"),
            ("/foo", "foo"),
            ("foo/", "foo"),
            ("/foo/", "foo"),
            ("a//b/./c", "a/b/c"),
            ("a/../b", "b"),
            (".", ""),
            ("/////", ""),
            ("/../../.", ""),
            ("a/../../b", ""),
        ] {
            assert_eq!(canonical(given), clean, "{given}");
        }
    }
}
