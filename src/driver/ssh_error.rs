//! Reading libssh2's error codes: "would block", channel-level or transport-level.

use ssh2::ErrorCode;

/// libssh2 error codes the driver tells apart (from libssh2.h).
pub(crate) mod code {
    pub const FILE: i32 = -16;
    pub const PASSWORD_EXPIRED: i32 = -15;
    pub const AUTHENTICATION_FAILED: i32 = -18;
    pub const PUBLICKEY_UNVERIFIED: i32 = -19;
    pub const CHANNEL_FAILURE: i32 = -21;
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

/// Errors that concern one channel and leave the connection usable (out-of-order, failure,
/// request denied, unknown, window or packet exceeded, closed, EOF sent, window full).
pub(crate) fn is_channel_level(err: &ssh2::Error) -> bool {
    matches!(err.code(), ErrorCode::Session(c) if (-27..=-20).contains(&c) || c == -47)
}

/// Turns an operation's result into: done, or `None` for "would block, try again".
pub(crate) fn nb<T>(result: Result<T, ssh2::Error>) -> Result<Option<T>, ssh2::Error> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if would_block(&e) => Ok(None),
        Err(e) => Err(e),
    }
}
