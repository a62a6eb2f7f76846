//! Option setters: each checks its value, records the first error it meets (reported by the
//! `_new` that consumes the options), and answers with a status.

use super::boundary::guard;
use super::status::smol_ssh_status;
use crate::error::Error;

/// Options objects whose setters remember their first failure, for the call that uses the
/// options to report with its message.
pub(crate) trait Sticky {
    /// How a failed setter's message starts ("option", "run option").
    const WHAT: &'static str;
    fn first_error(&mut self) -> &mut Option<Error>;
}

/// The body of every setter: checks the pointer, applies, remembers the first failure.
///
/// # Safety
/// `options` is NULL or live and not used by another thread.
pub(crate) unsafe fn set<O: Sticky>(
    options: *mut O,
    name: &str,
    apply: impl FnOnce(&mut O) -> Result<(), Error>,
) -> smol_ssh_status {
    guard(
        || smol_ssh_status::Panic,
        || {
            // SAFETY: per the contract.
            let Some(opts) = (unsafe { options.as_mut() }) else {
                return smol_ssh_status::InvalidArgument;
            };
            match apply(opts) {
                Ok(()) => smol_ssh_status::Ok,
                Err(e) => {
                    let status = e.kind().into();
                    let what = O::WHAT;
                    let e = Error::new(e.kind(), format!("{what} {name}: {}", e.message()));
                    opts.first_error().get_or_insert(e);
                    status
                }
            }
        },
    )
}
