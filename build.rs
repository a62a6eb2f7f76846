//! Gives the shared library its SONAME. The major ABI version lives here and in the Makefile
//! (SOVERSION); see README "Versioning".

const SOVERSION: &str = "0";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libsmol_ssh.so.{SOVERSION}");
    }
}
