//! Remote file operations through the C ABI (over SFTP; see the core's sftp module). Each
//! returns an ordinary `smol_ssh_result` (status and message); `smol_ssh_stat` and
//! `smol_ssh_list_dir` also hand out a `smol_ssh_file_list` the caller frees.

use std::ffi::{c_char, CString};

use super::boundary::{free_boxed, guard, str_arg};
use super::client::smol_ssh_client;
use super::enums::smol_ssh_file_type;
use super::result::smol_ssh_result;
use super::run_options::smol_ssh_run_options;
use super::transfer::transfer;
use crate::error::Error;
use crate::sftp::{DirEntry, FileInfo};

/// One file: its name (for `smol_ssh_stat`, the path asked about) and what the guest says of
/// it. The library allocates it (fields are only ever appended); valid until its list is
/// freed. `has_*` says whether the server sent the field that follows.
#[repr(C)]
pub struct smol_ssh_file_info {
    /// The name's bytes, NUL-terminated (`name_len` excludes the NUL).
    pub name: *const c_char,
    pub name_len: usize,
    /// A `smol_ssh_file_type`.
    pub file_type: i32,
    pub has_size: bool,
    pub size: u64,
    /// Permission bits (0o7777 of st_mode).
    pub has_permissions: bool,
    pub permissions: u32,
    /// Last modification, seconds since the Unix epoch.
    pub has_modified: bool,
    pub modified: u64,
    pub has_owner: bool,
    pub uid: u32,
    pub gid: u32,
}

/// Files from `smol_ssh_stat` (one) or `smol_ssh_list_dir` (the directory's entries, without
/// "." and ".."); freed by `smol_ssh_file_list_free`.
pub struct smol_ssh_file_list {
    infos: Vec<smol_ssh_file_info>,
    /// The names the infos point into.
    _names: Vec<CString>,
}

impl smol_ssh_file_list {
    fn new(entries: Vec<DirEntry>) -> Self {
        let names: Vec<CString> = entries
            .iter()
            .map(|e| CString::new(e.name.replace('\0', "")).unwrap_or_default())
            .collect();
        let infos = entries
            .iter()
            .zip(&names)
            .map(|(e, name)| info(&e.info, name))
            .collect();
        smol_ssh_file_list {
            infos,
            _names: names,
        }
    }
}

fn info(i: &FileInfo, name: &CString) -> smol_ssh_file_info {
    smol_ssh_file_info {
        name: name.as_ptr(),
        name_len: name.as_bytes().len(),
        file_type: smol_ssh_file_type::from(i.file_type) as i32,
        has_size: i.size.is_some(),
        size: i.size.unwrap_or(0),
        has_permissions: i.permissions.is_some(),
        permissions: i.permissions.unwrap_or(0),
        has_modified: i.modified.is_some(),
        modified: i.modified.unwrap_or(0),
        has_owner: i.uid.is_some(),
        uid: i.uid.unwrap_or(0),
        gid: i.gid.unwrap_or(0),
    }
}

/// Writes `list` to `out` (if not NULL); `out` is set to NULL first, whatever happens.
///
/// # Safety
/// `out` is NULL or writable.
unsafe fn hand_out(out: *mut *mut smol_ssh_file_list, list: smol_ssh_file_list) {
    if !out.is_null() {
        // SAFETY: writable per the contract; the caller frees it with smol_ssh_file_list_free.
        unsafe { *out = Box::into_raw(Box::new(list)) };
    }
}

/// Clears an out-parameter before a call.
///
/// # Safety
/// `out` is NULL or writable.
unsafe fn clear<T>(out: *mut *mut T) {
    if !out.is_null() {
        // SAFETY: writable per the contract.
        unsafe { *out = std::ptr::null_mut() };
    }
}

/// What the guest says about `path` (symbolic links followed). On success `*info_out` (if not
/// NULL) is a list of one, named `path`. NOT_FOUND when nothing is there.
///
/// # Safety
/// `client`, `options`: NULL or live; `path`: NULL or NUL-terminated; `info_out`: NULL or
/// writable (set to NULL unless the call succeeds).
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_stat(
    client: *mut smol_ssh_client,
    path: *const c_char,
    options: *const smol_ssh_run_options,
    info_out: *mut *mut smol_ssh_file_list,
) -> *mut smol_ssh_result {
    // SAFETY (all blocks): per the contract.
    unsafe { clear(info_out) };
    unsafe {
        transfer(client, options, |c, o| {
            let path = str_arg(path, "path")?;
            let info = c.stat(path, o)?;
            let list = smol_ssh_file_list::new(vec![DirEntry {
                name: path.to_owned(),
                info,
            }]);
            hand_out(info_out, list);
            Ok(Vec::new())
        })
    }
}

/// The entries of the directory `path` (without "." and ".."), in `*list_out` (if not NULL)
/// on success. A file is NOT_A_DIRECTORY; a missing path NOT_FOUND.
///
/// # Safety
/// As for `smol_ssh_stat`.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_list_dir(
    client: *mut smol_ssh_client,
    path: *const c_char,
    options: *const smol_ssh_run_options,
    list_out: *mut *mut smol_ssh_file_list,
) -> *mut smol_ssh_result {
    // SAFETY (all blocks): per the contract.
    unsafe { clear(list_out) };
    unsafe {
        transfer(client, options, |c, o| {
            let path = str_arg(path, "path")?;
            let entries = c.list_dir(path, o)?;
            hand_out(list_out, smol_ssh_file_list::new(entries));
            Ok(Vec::new())
        })
    }
}

/// Whether `path` exists (symbolic links followed), in `*exists_out` (if not NULL). Errors
/// other than "not found" are errors.
///
/// # Safety
/// `client`, `options`: NULL or live; `path`: NULL or NUL-terminated; `exists_out`: NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_exists(
    client: *mut smol_ssh_client,
    path: *const c_char,
    options: *const smol_ssh_run_options,
    exists_out: *mut bool,
) -> *mut smol_ssh_result {
    // SAFETY (all blocks): per the contract.
    unsafe {
        if !exists_out.is_null() {
            *exists_out = false;
        }
        transfer(client, options, |c, o| {
            let found = c.exists(str_arg(path, "path")?, o)?;
            if !exists_out.is_null() {
                *exists_out = found;
            }
            Ok(Vec::new())
        })
    }
}

/// Makes the directory `path`; with `parents`, its missing parents too, and an existing
/// directory is fine (`mkdir -p`). A file in the way is NOT_A_DIRECTORY.
///
/// # Safety
/// `client`, `options`: NULL or live; `path`: NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_mkdir(
    client: *mut smol_ssh_client,
    path: *const c_char,
    parents: bool,
    options: *const smol_ssh_run_options,
) -> *mut smol_ssh_result {
    // SAFETY: per the contract.
    unsafe {
        simple(client, options, |c, o| {
            c.mkdir(str_arg(path, "path")?, parents, o)
        })
    }
}

/// Removes the file (or symbolic link) `path`; a directory is REMOTE_FAILED.
///
/// # Safety
/// As for `smol_ssh_mkdir`.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_remove(
    client: *mut smol_ssh_client,
    path: *const c_char,
    options: *const smol_ssh_run_options,
) -> *mut smol_ssh_result {
    // SAFETY: per the contract.
    unsafe { simple(client, options, |c, o| c.remove(str_arg(path, "path")?, o)) }
}

/// Removes the empty directory `path`; a file is NOT_A_DIRECTORY, a directory with entries
/// REMOTE_FAILED.
///
/// # Safety
/// As for `smol_ssh_mkdir`.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_remove_dir(
    client: *mut smol_ssh_client,
    path: *const c_char,
    options: *const smol_ssh_run_options,
) -> *mut smol_ssh_result {
    // SAFETY: per the contract.
    unsafe {
        simple(client, options, |c, o| {
            c.remove_dir(str_arg(path, "path")?, o)
        })
    }
}

/// Renames `from` to `to`, replacing `to` atomically where the guest's server can
/// (OpenSSH's posix-rename).
///
/// # Safety
/// `client`, `options`: NULL or live; `from`, `to`: NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_rename(
    client: *mut smol_ssh_client,
    from: *const c_char,
    to: *const c_char,
    options: *const smol_ssh_run_options,
) -> *mut smol_ssh_result {
    // SAFETY: per the contract.
    unsafe {
        simple(client, options, |c, o| {
            c.rename(str_arg(from, "from")?, str_arg(to, "to")?, o)
        })
    }
}

/// A file operation that answers only success or failure.
///
/// # Safety
/// As for the functions above.
unsafe fn simple(
    client: *mut smol_ssh_client,
    options: *const smol_ssh_run_options,
    body: impl FnOnce(&crate::Client, &crate::RunOptions) -> Result<(), Error>,
) -> *mut smol_ssh_result {
    // SAFETY: per the contract.
    unsafe { transfer(client, options, |c, o| body(c, o).map(|()| Vec::new())) }
}

/// How many files `list` holds (0 for NULL).
///
/// # Safety
/// `list` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_file_list_len(list: *const smol_ssh_file_list) -> usize {
    // SAFETY: per the contract.
    guard(
        || 0,
        || unsafe { list.as_ref() }.map_or(0, |l| l.infos.len()),
    )
}

/// The `index`th file of `list`, valid until the list is freed; NULL when out of range.
///
/// # Safety
/// `list` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_file_list_get(
    list: *const smol_ssh_file_list,
    index: usize,
) -> *const smol_ssh_file_info {
    guard(std::ptr::null, || {
        // SAFETY: per the contract.
        unsafe { list.as_ref() }
            .and_then(|l| l.infos.get(index))
            .map_or(std::ptr::null(), |i| i as *const smol_ssh_file_info)
    })
}

/// Frees a list; NULL is a no-op.
///
/// # Safety
/// `list` is NULL or a list not yet freed.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_file_list_free(list: *mut smol_ssh_file_list) {
    // SAFETY: per the contract: it came from Box::into_raw in hand_out.
    unsafe { free_boxed(list) }
}
