//! The process's driver threads: how many serve its clients.

use super::boundary::guard;
use super::status::smol_ssh_status;

/// Sets how many driver threads serve all the clients of the process (the threads that own
/// the connections; a client lives on one of them from its first call to its free). 0 means
/// the default: the environment variable `SMOL_SSH_DRIVER_THREADS` if set, else the number
/// of cores. Clients already started stay on their threads; later ones use the new size.
/// More than 1024: SMOL_SSH_STATUS_INVALID_ARGUMENT.
#[no_mangle]
pub extern "C" fn smol_ssh_set_driver_threads(threads: usize) -> smol_ssh_status {
    guard(
        || smol_ssh_status::Panic,
        || match crate::set_driver_threads(threads) {
            Ok(()) => smol_ssh_status::Ok,
            Err(e) => e.kind().into(),
        },
    )
}

/// How many driver threads serve the process's clients at most (see
/// `smol_ssh_set_driver_threads`).
#[no_mangle]
pub extern "C" fn smol_ssh_driver_threads() -> usize {
    guard(|| 1, crate::driver_threads)
}
