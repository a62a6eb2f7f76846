//! smol-ssh: run commands on a VM guest over one persistent SSH connection.
//!
//! The Rust API ([`Client`], [`Config`], [`Output`], [`Error`]) knows nothing of C; the C ABI
//! lives in the `ffi` module and only converts, checks and catches.
//!
//! ```no_run
//! use smol_ssh::{Client, Config, RunOptions};
//! let mut config = Config::new("192.0.2.10");
//! config.key_path = Some("/root/.ssh/id_ed25519".into());
//! let client = Client::new(config)?;
//! let out = client.run("uname -a", &RunOptions::default())?;
//! println!("{} -> {:?}", String::from_utf8_lossy(out.output()), out.exit_code);
//! # Ok::<(), smol_ssh::Error>(())
//! ```

mod cancel;
mod client;
mod config;
mod driver;
mod env;
mod error;
mod forward;
pub mod ffi;
mod hostkey;
mod log;
mod output;
mod pending;
mod secret;
mod sftp;
pub mod shell;
mod stream;
mod transport;
mod transfer;
mod wait;

pub use cancel::CancelToken;
pub use client::{Client, RunOptions, DEFAULT_RUN_TIMEOUT, MAX_COMMAND_BYTES};
pub use config::{
    Config, FileTransfer, DEFAULT_CONNECT_TIMEOUT, DEFAULT_KEEPALIVE_COUNT_MAX,
    DEFAULT_KEEPALIVE_INTERVAL, DEFAULT_MAX_OUTPUT_BYTES, MIN_KEEPALIVE_INTERVAL,
};
pub use driver::{driver_threads, set_driver_threads, MAX_DRIVER_THREADS};
pub use error::{Error, ErrorKind, Result};
pub use forward::{Forward, ForwardAddr, ForwardOptions, ForwardStats};
pub use hostkey::{format_fingerprint, parse_fingerprint, HostKey, HostKeyCallback, HostKeyPolicy};
pub use log::{LogCallback, LogLevel};
pub use output::{Output, Stream};
pub use pending::Pending;
pub use secret::Secret;
pub use sftp::{DirEntry, FileInfo, FileType};
pub use shell::{ShellKind, ShellMode};
pub use transport::{FdSource, Transport};
pub use wait::{DEFAULT_WAIT_INTERVAL, DEFAULT_WAIT_TIMEOUT};
