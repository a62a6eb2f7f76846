//! Building C and C++ programs against the library.

use std::path::{Path, PathBuf};
use std::process::Command;

pub const C_FLAGS: &[&str] = &["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic"];
pub const CXX_FLAGS: &[&str] = &["-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic"];

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Builds the cdylib (`cargo test` builds only the rlib) and returns its directory.
pub fn library_dir() -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--lib", "--quiet"])
        .current_dir(root())
        .status()
        .expect("cargo build --lib");
    assert!(status.success(), "cargo build --lib failed");
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test> → target/<profile>
    let dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    assert!(
        dir.join("libsmol_ssh.so").exists(),
        "no libsmol_ssh.so in {}",
        dir.display()
    );
    // Programs linked against it ask for its SONAME, libsmol_ssh.so.0.
    let soname = dir.join("libsmol_ssh.so.0");
    if std::fs::read_link(&soname).is_err() {
        let _ = std::os::unix::fs::symlink("libsmol_ssh.so", &soname);
    }
    dir
}

/// Compiles `source` with `compiler` and `flags` against the header and the shared library.
pub fn compile(compiler: &str, flags: &[&str], source: &Path, out: &Path) {
    let lib_dir = library_dir();
    let output = Command::new(compiler)
        .args(flags)
        .arg("-I")
        .arg(root().join("include"))
        .arg(source)
        .arg("-o")
        .arg(out)
        .arg(format!("-L{}", lib_dir.display()))
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .arg("-lsmol_ssh")
        .output()
        .unwrap_or_else(|e| panic!("{compiler}: {e}"));
    assert!(
        output.status.success(),
        "{compiler} failed on {}:\n{}",
        source.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}
