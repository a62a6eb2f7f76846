//! The committed header is what the pinned cbindgen makes from the source.

use std::path::Path;
use std::process::Command;

/// Kept in step with CBINDGEN_VERSION in the Makefile.
const PINNED: &str = "0.29.4";

#[test]
fn committed_header_is_not_stale() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let committed = std::fs::read_to_string(root.join("include/smol_ssh.h")).unwrap();
    assert!(
        committed.contains(&format!("Generated with cbindgen:{PINNED}")),
        "include/smol_ssh.h was not made by cbindgen {PINNED}: run `make header`"
    );
    if let Ok(pinned_by_make) = std::env::var("CBINDGEN_VERSION") {
        assert_eq!(
            pinned_by_make, PINNED,
            "tests/header.rs and the Makefile pin different cbindgens"
        );
    }
    let cbindgen = std::env::var("CBINDGEN").unwrap_or_else(|_| "cbindgen".into());
    let version = Command::new(&cbindgen)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {cbindgen}: {e}; install it with \
             `cargo install --locked cbindgen --version {PINNED}` (make test does)"
            )
        });
    let version = String::from_utf8_lossy(&version.stdout);
    assert!(
        version.trim().ends_with(PINNED),
        "{cbindgen} is {version:?}, the header is pinned to cbindgen {PINNED}"
    );
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("smol_ssh.h");
    let out = Command::new(&cbindgen)
        .args(["--quiet", "--config"])
        .arg(root.join("cbindgen.toml"))
        .args(["--crate", "smol-ssh", "--output"])
        .arg(&fresh)
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cbindgen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fresh = std::fs::read_to_string(&fresh).unwrap();
    assert!(
        fresh == committed,
        "include/smol_ssh.h is stale: run `make header` and commit it"
    );
}
