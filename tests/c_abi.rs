//! The C side: the smoke program built with strict C11 flags runs against the real sshd, and
//! the header compiles as C++.

mod support;

use std::process::Command;

use support::c::{compile, library_dir, root, CXX_FLAGS, C_FLAGS};
use support::Sshd;

#[test]
fn c_smoke_program_passes_against_sshd() {
    let sshd = Sshd::start();
    let exe = sshd.dir().join("smoke");
    compile("cc", C_FLAGS, &root().join("examples-c/smoke.c"), &exe);
    let out = sshd.point_at(&mut Command::new(&exe)).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "smoke failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("PASSED: 0 failure(s)"), "{stdout}");
    assert!(!stdout.contains("FAIL "), "{stdout}");
}

#[test]
fn header_compiles_as_cpp_and_links() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("header.cpp");
    std::fs::write(
        &source,
        "#include \"smol_ssh.h\"\n#include <cstring>\n\
         int main() {\n\
           smol_ssh_options *o = smol_ssh_options_new();\n\
           smol_ssh_status s = smol_ssh_options_set_shell_kind(o, SMOL_SSH_SHELL_KIND_CMD);\n\
           smol_ssh_options_free(o);\n\
           smol_ssh_result *r = smol_ssh_run(nullptr, \"true\", 1000, SMOL_SSH_SHELL_MODE_RAW);\n\
           bool ok = s == SMOL_SSH_STATUS_OK && r->status == SMOL_SSH_STATUS_INVALID_ARGUMENT;\n\
           smol_ssh_result_free(r);\n\
           return ok && std::strlen(smol_ssh_version()) > 0 ? 0 : 1;\n\
         }\n",
    )
    .unwrap();
    let exe = dir.path().join("header");
    compile("c++", CXX_FLAGS, &source, &exe);
    assert!(Command::new(&exe).status().unwrap().success());
}

#[test]
fn every_exported_symbol_is_in_the_header_and_the_other_way_round() {
    let lib_dir = library_dir();
    let nm = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(lib_dir.join("libsmol_ssh.so"))
        .output()
        .expect("nm (binutils)");
    let mut exported: Vec<String> = String::from_utf8_lossy(&nm.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2).map(str::to_owned))
        .filter(|s| s.starts_with("smol_ssh_"))
        .collect();
    exported.sort();
    let header = std::fs::read_to_string(root().join("include/smol_ssh.h")).unwrap();
    let mut declared: Vec<String> = header
        .lines()
        .filter(|l| {
            !l.starts_with(' ')
                && !l.starts_with('/')
                && !l.starts_with("typedef")
                && l.contains("smol_ssh_")
                && l.contains('(')
        })
        .filter_map(|l| {
            let name = l.split('(').next()?.split([' ', '*']).next_back()?;
            Some(name.to_owned())
        })
        .collect();
    declared.sort();
    assert!(!exported.is_empty());
    assert_eq!(exported, declared);
}
