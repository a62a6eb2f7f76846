//! The README's C example compiles with the strict flags and links against the library.

mod support;

use support::c::{compile, root, C_FLAGS};

#[test]
fn readme_c_example_compiles_and_links() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme.find("```c\n").expect("a ```c block in the README") + 5;
    let code = &readme[start..start + readme[start..].find("```").unwrap()];
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("readme.c");
    std::fs::write(&source, code).unwrap();
    compile("cc", C_FLAGS, &source, &dir.path().join("readme"));
}
