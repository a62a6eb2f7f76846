//! The C ABI. It only converts C types, checks pointers and catches panics; all behaviour
//! lives in the core. cbindgen turns this module into `include/smol_ssh.h`.
//!
//! Conventions: every symbol starts with `smol_ssh_`; objects the library allocates are freed
//! by the caller with the matching `_free` (NULL is a no-op); strings passed in are UTF-8,
//! NUL-terminated and copied before the call returns; error text travels with the call that
//! failed (in the result, or in the `smol_ssh_error` of `smol_ssh_new`), never in a
//! thread-local "last error".
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)] // each function's `# Safety` section says it

mod boundary;
pub mod cancel;
pub mod client;
pub mod enums;
pub mod error;
mod handle;
pub mod options;
pub mod result;
pub mod run_options;
mod setter;
pub mod status;
pub mod transfer;
