//! Reading the error codes of ssh2-rs calls (connect and keepalive): "would block" or not.

use ssh2::ErrorCode;

/// libssh2 error codes the driver tells apart (from libssh2.h).
pub(crate) mod code {
    pub const FILE: i32 = -16;
    pub const PASSWORD_EXPIRED: i32 = -15;
    pub const AUTHENTICATION_FAILED: i32 = -18;
    pub const PUBLICKEY_UNVERIFIED: i32 = -19;
    pub const EAGAIN: i32 = -37;
    pub const KEYFILE_AUTH_FAILED: i32 = -48;
}

pub(crate) fn code_of(err: &ssh2::Error) -> i32 {
    match err.code() {
        ErrorCode::Session(c) | ErrorCode::SFTP(c) => c,
    }
}

pub(crate) fn would_block(err: &ssh2::Error) -> bool {
    matches!(err.code(), ErrorCode::Session(code::EAGAIN))
}

/// Turns an operation's result into: done, or `None` for "would block, try again".
pub(crate) fn nb<T>(result: Result<T, ssh2::Error>) -> Result<Option<T>, ssh2::Error> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if would_block(&e) => Ok(None),
        Err(e) => Err(e),
    }
}
