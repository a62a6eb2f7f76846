//! The C ABI driven from Rust, for tests that need what only C callers can do (free a client
//! while other threads are still in calls).
#![allow(dead_code)]

use std::ffi::CString;
use std::time::Duration;

use smol_ssh::ffi::client::*;
use smol_ssh::ffi::options::*;
use smol_ssh::ffi::result::*;

use super::sshd::Sshd;

/// A `smol_ssh_client*` for the fixture's account, shareable between threads as the C ABI
/// allows.
#[derive(Clone, Copy)]
pub struct CClient(pub *mut smol_ssh_client);
// SAFETY: the C ABI's clients are safe to use from many threads at once (its header says so).
unsafe impl Send for CClient {}
unsafe impl Sync for CClient {}

/// What a C run returned, copied out of its `smol_ssh_result`.
#[derive(Debug)]
pub struct CRun {
    pub status: i32,
    pub exit_code: i32,
    pub has_exit_status: bool,
    pub exit_status: u32,
    pub stdout: Vec<u8>,
    pub message: String,
}

fn cstr(s: &str) -> CString {
    CString::new(s).unwrap()
}

impl CClient {
    /// A client of `sshd` on `port` (the fixture's own port unless a proxy or a scripted server
    /// stands in front).
    pub fn new(sshd: &Sshd, port: u16) -> CClient {
        Self::with_key(
            &sshd.user,
            &sshd.key.display().to_string(),
            port,
            Some(&sshd.host_fingerprint()),
        )
    }

    /// A client of `user` with `key` on `port`; the host key pinned to `fingerprint`, or any
    /// accepted (a scripted server's key is made afresh at each start).
    pub fn with_key(user: &str, key: &str, port: u16, fingerprint: Option<&str>) -> CClient {
        // SAFETY: every pointer passed is live and NUL-terminated for the call.
        unsafe {
            let o = smol_ssh_options_new();
            assert_eq!(
                smol_ssh_options_set_host(o, cstr("127.0.0.1").as_ptr()) as i32,
                0
            );
            assert_eq!(smol_ssh_options_set_port(o, u32::from(port)) as i32, 0);
            assert_eq!(smol_ssh_options_set_user(o, cstr(user).as_ptr()) as i32, 0);
            assert_eq!(
                smol_ssh_options_set_key_path(o, cstr(key).as_ptr()) as i32,
                0
            );
            let pinned = match fingerprint {
                Some(fp) => smol_ssh_options_set_host_key_fingerprint(o, cstr(fp).as_ptr()),
                None => smol_ssh_options_set_host_key_policy(o, 2),
            };
            assert_eq!(pinned as i32, 0);
            let mut client = std::ptr::null_mut();
            let err = smol_ssh_new(o, &mut client);
            assert!(err.is_null());
            smol_ssh_options_free(o);
            CClient(client)
        }
    }

    pub fn run(self, command: &str, timeout: Duration) -> CRun {
        // SAFETY: the client is live (tests free it only after their runs are started), the
        // command is NUL-terminated, and the result is read then freed once.
        unsafe {
            let r = smol_ssh_run(
                self.0,
                cstr(command).as_ptr(),
                timeout.as_millis() as u64,
                1,
            );
            let res = &*r;
            let out = CRun {
                status: res.status as i32,
                exit_code: res.exit_code,
                has_exit_status: res.has_exit_status,
                exit_status: res.exit_status,
                stdout: std::slice::from_raw_parts(res.stdout_data, res.stdout_len).to_vec(),
                message: if res.error_message.is_null() {
                    String::new()
                } else {
                    std::ffi::CStr::from_ptr(res.error_message)
                        .to_string_lossy()
                        .into_owned()
                },
            };
            smol_ssh_result_free(r);
            out
        }
    }

    pub fn free(self) {
        // SAFETY: freed once, by the test that made it.
        unsafe { smol_ssh_free(self.0) }
    }
}

/// The C status number of a kind (the numbers belong to the C ABI).
pub fn status(kind: smol_ssh::ErrorKind) -> i32 {
    smol_ssh::ffi::status::smol_ssh_status::from(kind) as i32
}
