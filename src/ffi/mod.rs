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

// In the order the header reads (cbindgen follows it): statuses and errors, the enums, the
// options, the client and its runs, their results, run options and cancel tokens, transfers,
// file operations.
pub mod status;
pub mod error;
pub mod enums;
pub mod options;
mod handle;
pub mod client;
pub mod result;
pub mod run_options;
pub mod cancel;
pub mod transfer;
pub mod files;
pub mod pending;
pub mod stream;
pub mod drivers;
mod boundary;
mod setter;
