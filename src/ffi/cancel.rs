//! `smol_ssh_cancel`: a token that cancels the runs it is given to, from any thread.

use super::boundary::{free_boxed, guard};
use super::status::smol_ssh_status;
use crate::cancel::CancelToken;

/// Cancels runs from another thread. Made by `smol_ssh_cancel_new`, given to runs with
/// `smol_ssh_run_options_set_cancel`, triggered with `smol_ssh_cancel_trigger`, freed with
/// `smol_ssh_cancel_free` (run options keep their own reference, so freeing it only gives up
/// the ability to trigger). Every function on it may be called from any thread at any time.
/// A cancelled run ends with SMOL_SSH_STATUS_CANCELLED and its remote command is stopped; a
/// run not yet started is never sent. Cancelling is permanent.
pub struct smol_ssh_cancel {
    pub(crate) token: CancelToken,
}

/// A new, untriggered token. NULL only if a panic was caught.
#[no_mangle]
pub extern "C" fn smol_ssh_cancel_new() -> *mut smol_ssh_cancel {
    guard(std::ptr::null_mut, || {
        Box::into_raw(Box::new(smol_ssh_cancel {
            token: CancelToken::new(),
        }))
    })
}

/// Cancels every run given this token, now and later. INVALID_ARGUMENT for NULL.
///
/// # Safety
/// `cancel` is NULL or a live token.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_cancel_trigger(
    cancel: *const smol_ssh_cancel,
) -> smol_ssh_status {
    guard(
        || smol_ssh_status::Panic,
        // SAFETY: per the contract.
        || match unsafe { cancel.as_ref() } {
            Some(c) => {
                c.token.cancel();
                smol_ssh_status::Ok
            }
            None => smol_ssh_status::InvalidArgument,
        },
    )
}

/// True once the token was triggered; false for NULL.
///
/// # Safety
/// `cancel` is NULL or a live token.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_cancel_is_triggered(cancel: *const smol_ssh_cancel) -> bool {
    // SAFETY: per the contract.
    guard(
        || false,
        || unsafe { cancel.as_ref() }.is_some_and(|c| c.token.is_cancelled()),
    )
}

/// Frees the token (runs holding it keep their own reference). NULL is a no-op.
///
/// # Safety
/// `cancel` is NULL or a live token, freed once.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_cancel_free(cancel: *mut smol_ssh_cancel) {
    // SAFETY: forwarded contract.
    unsafe { free_boxed(cancel) }
}
