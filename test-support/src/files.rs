//! Where tests write: [`scratch`] folders under the system's temp dir, removed when the test
//! is done but kept (and their path printed) when it fails, so a failed run can be read
//! ([`temp_dir`] for those that are never worth keeping); and
//! [`artifacts`] under `runs/ci/` at the repository root for what a human should look at
//! (screenshots, rendered reports), which no test removes.

use std::ffi::OsStr;
use std::ops::Deref;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

/// A fresh path for one test to create and fill, inside a temporary folder of its own.
/// Derefs to its `Path` and passes as a command-line argument (`cmd.arg(&dir)`).
pub struct Scratch {
    root: Option<TempDir>,
    path: PathBuf,
}

/// A path named `name` that does not exist yet, in a new temporary folder: the program under
/// test creates it, as a user's would.
pub fn scratch(name: &str) -> Scratch {
    let root = temp_dir();
    let path = root.path().join(name);
    Scratch { root: Some(root), path }
}

impl Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<OsStr> for Scratch {
    fn as_ref(&self) -> &OsStr {
        self.path.as_os_str()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(root) = self.root.take() {
                eprintln!("kept for inspection: {}", root.keep().display());
            }
        }
    }
}

/// A new temporary folder, removed when dropped, failure or not (a browser profile: nothing
/// in it helps to read a failure).
pub fn temp_dir() -> TempDir {
    tempfile::Builder::new().prefix("pushpull-").tempdir().expect("a temporary folder")
}

/// `runs/ci/SUB` at the repository root, created: where tests leave what a human should see.
pub fn artifacts(sub: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("test-support sits in the workspace");
    let dir = root.join("runs/ci").join(sub);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scratch_path_is_fresh_and_removed_with_its_folder() {
        let dir = scratch("out");
        assert!(!dir.exists(), "the program under test creates it");
        std::fs::create_dir(&dir).expect("create");
        std::fs::write(dir.join("f"), "x").expect("write");
        let kept = dir.to_path_buf();
        drop(dir);
        assert!(!kept.exists(), "removed when the test is done");
    }

    #[test]
    fn a_failed_test_keeps_its_scratch_folder() {
        let path = std::thread::spawn(|| {
            let dir = scratch("kept");
            let path = dir.to_path_buf();
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                let _dir = dir;
                panic!("a failing test");
            }));
            path
        })
        .join()
        .expect("the thread returns");
        let root = path.parent().expect("its folder").to_path_buf();
        assert!(root.is_dir(), "kept after a failure");
        std::fs::remove_dir_all(root).expect("clean up");
    }

    #[test]
    fn artifacts_go_under_runs_ci_at_the_repository_root() {
        let dir = artifacts("test-support-self-check");
        assert!(dir.ends_with("runs/ci/test-support-self-check") && dir.is_dir());
        assert!(dir.parent().and_then(Path::parent).is_some_and(|runs| runs.join("../Cargo.toml").is_file()));
        std::fs::remove_dir(dir).expect("clean up");
    }
}
