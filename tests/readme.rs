//! The README's C example compiles with the strict flags and links against the library.

use std::path::Path;
use std::process::Command;

#[test]
fn readme_c_example_compiles_and_links() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = readme.find("```c\n").expect("a ```c block in the README") + 5;
    let code = &readme[start..start + readme[start..].find("```").unwrap()];
    let status = Command::new(env!("CARGO"))
        .args(["build", "--lib", "--quiet"])
        .current_dir(root)
        .status()
        .unwrap();
    assert!(status.success());
    let lib_dir = std::env::current_exe().unwrap();
    let lib_dir = lib_dir.parent().unwrap().parent().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("readme.c");
    std::fs::write(&source, code).unwrap();
    let out = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I"])
        .arg(root.join("include"))
        .arg(&source)
        .arg("-o")
        .arg(dir.path().join("readme"))
        .arg(format!("-L{}", lib_dir.display()))
        .arg("-lsmol_ssh")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
