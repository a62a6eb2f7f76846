"""Finding and loading libsmol_ssh.so, and the C declarations this package calls through ctypes.

Where the library is looked for, first found wins:

1. ``SMOL_SSH_LIBRARY``: the library file, or a folder holding ``libsmol_ssh.so.0`` (or
   ``libsmol_ssh.so``);
2. the copy bundled in this package (``pip install`` from a checkout builds it with cargo);
3. the one ``make install`` put beside this package (``PREFIX/lib``, this package being in
   ``PREFIX/lib/python3.X/...-packages``);
4. the system's library path (``ctypes.util.find_library``: ``ldconfig``, ``LD_LIBRARY_PATH``);
5. a build in the checkout this file belongs to (``target/release``).

When none loads, importing smol_ssh raises ImportError saying what was tried and how to get
the library.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
from ctypes import POINTER, Structure, c_bool, c_char_p, c_int32, c_size_t, c_uint32, c_uint64, c_void_p
from typing import List

_HERE = os.path.dirname(os.path.abspath(__file__))
_NAMES = ("libsmol_ssh.so.0", "libsmol_ssh.so")


class CResult(Structure):
    # Mirrors smol_ssh_result in smol_ssh.h (fields are only ever appended).
    _fields_ = [
        ("status", c_int32),
        ("exit_code", c_int32),
        ("exit_signal", c_char_p),
        ("stdout_data", c_void_p),
        ("stdout_len", c_size_t),
        ("stderr_data", c_void_p),
        ("stderr_len", c_size_t),
        ("ok", c_bool),
        ("error_message", c_char_p),
        ("elapsed_us", c_uint64),
        ("stdout_truncated", c_bool),
        ("stderr_truncated", c_bool),
        ("has_exit_status", c_bool),
        ("exit_status", c_uint32),
    ]


# int32_t (*)(void *user, int32_t stream, const uint8_t *data, size_t len)
OUTPUT_FN = ctypes.CFUNCTYPE(c_int32, c_void_p, c_int32, c_void_p, c_size_t)
# int32_t (*)(void *user, const char *key_type, const char *fingerprint, const uint8_t *key,
#             size_t key_len): 1 accepts
HOST_KEY_FN = ctypes.CFUNCTYPE(c_int32, c_void_p, c_char_p, c_char_p, c_void_p, c_size_t)
# void (*)(void *user, int32_t level, const char *message)
LOG_FN = ctypes.CFUNCTYPE(None, c_void_p, c_int32, c_char_p)


class CForwardStats(Structure):
    _fields_ = [(name, c_uint64) for name in
                ("connections", "active", "failed", "bytes_to_guest", "bytes_from_guest")]


class CFileInfo(Structure):
    # Mirrors smol_ssh_file_info (fields are only ever appended).
    _fields_ = [
        ("name", c_char_p),
        ("name_len", c_size_t),
        ("file_type", c_int32),
        ("has_size", c_bool),
        ("size", c_uint64),
        ("has_permissions", c_bool),
        ("permissions", c_uint32),
        ("has_modified", c_bool),
        ("modified", c_uint64),
        ("has_owner", c_bool),
        ("uid", c_uint32),
        ("gid", c_uint32),
    ]


# int32_t (*)(void *user): a connected descriptor the library then owns, or -1
FD_FN = ctypes.CFUNCTYPE(c_int32, c_void_p)


def _in_folder(folder: str) -> List[str]:
    return [os.path.join(folder, name) for name in _NAMES if os.path.exists(os.path.join(folder, name))]


def _candidates() -> List[str]:
    """Where to look, in order (see the module's doc)."""
    explicit = os.environ.get("SMOL_SSH_LIBRARY")
    if explicit:
        # Named explicitly: only that (a wrong path must not silently load another library).
        return _in_folder(explicit) if os.path.isdir(explicit) else [explicit]
    found = sorted(glob.glob(os.path.join(_HERE, "_libsmol_ssh*.so")))
    found += _in_folder(os.path.normpath(os.path.join(_HERE, "..", "..", "..")))
    system = ctypes.util.find_library("smol_ssh")
    if system:
        found.append(system)
    found += _in_folder(os.path.normpath(os.path.join(_HERE, "..", "..", "..", "target", "release")))
    return found


def _open() -> "tuple[ctypes.CDLL, str]":
    tried = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append(f"{path}: {e}")
    if os.environ.get("SMOL_SSH_LIBRARY") and not tried:
        tried.append(f"SMOL_SSH_LIBRARY={os.environ['SMOL_SSH_LIBRARY']}: no libsmol_ssh.so.0 there")
    raise ImportError(
        "smol_ssh needs the native library libsmol_ssh.so, and none could be loaded"
        + ("" if not tried else " (tried: " + "; ".join(tried) + ")")
        + ". Get it one of these ways: `pip install ./bindings/python` from a smol-ssh checkout "
        "(builds and bundles it; needs cargo), `make && sudo make install` in the checkout, or "
        "point SMOL_SSH_LIBRARY at libsmol_ssh.so.0 or the folder holding it."
    )


def _load() -> "tuple[ctypes.CDLL, str]":
    lib, path = _open()
    sig = {
        "smol_ssh_version": ([], c_char_p),
        "smol_ssh_set_driver_threads": ([ctypes.c_size_t], c_int32),
        "smol_ssh_driver_threads": ([], ctypes.c_size_t),
        "smol_ssh_status_str": ([c_int32], c_char_p),
        "smol_ssh_options_new": ([], c_void_p),
        "smol_ssh_options_free": ([c_void_p], None),
        "smol_ssh_options_set_host": ([c_void_p, c_char_p], c_int32),
        "smol_ssh_options_set_user": ([c_void_p, c_char_p], c_int32),
        "smol_ssh_options_set_port": ([c_void_p, c_uint32], c_int32),
        "smol_ssh_options_set_key_path": ([c_void_p, c_char_p], c_int32),
        "smol_ssh_options_set_key_passphrase": ([c_void_p, c_char_p], c_int32),
        "smol_ssh_options_set_password": ([c_void_p, c_char_p], c_int32),
        "smol_ssh_options_set_connect_timeout_ms": ([c_void_p, c_uint64], c_int32),
        "smol_ssh_options_set_shell_kind": ([c_void_p, c_int32], c_int32),
        "smol_ssh_options_set_host_key_fingerprint": ([c_void_p, c_char_p], c_int32),
        "smol_ssh_options_set_host_key_policy": ([c_void_p, c_int32], c_int32),
        "smol_ssh_host_key_fingerprint": ([c_void_p, c_char_p, c_size_t], c_size_t),
        "smol_ssh_options_set_host_key_callback": ([c_void_p, HOST_KEY_FN, c_void_p], c_int32),
        "smol_ssh_options_set_known_hosts": ([c_void_p, c_char_p, c_bool], c_int32),
        "smol_ssh_options_set_unix_socket": ([c_void_p, c_char_p], c_int32),
        "smol_ssh_options_set_hybrid_vsock": ([c_void_p, c_char_p, c_uint32], c_int32),
        "smol_ssh_options_set_vsock": ([c_void_p, c_uint32, c_uint32], c_int32),
        "smol_ssh_options_set_fd_callback": ([c_void_p, FD_FN, c_void_p], c_int32),
        "smol_ssh_options_set_keepalive_interval_ms": ([c_void_p, c_uint64], c_int32),
        "smol_ssh_options_set_keepalive_count_max": ([c_void_p, c_uint32], c_int32),
        "smol_ssh_options_set_max_output_bytes": ([c_void_p, c_uint64], c_int32),
        "smol_ssh_options_set_ciphers": ([c_void_p, c_char_p], c_int32),
        "smol_ssh_options_set_log_callback": ([c_void_p, LOG_FN, c_void_p], c_int32),
        "smol_ssh_new": ([c_void_p, POINTER(c_void_p)], c_void_p),
        "smol_ssh_error_status": ([c_void_p], c_int32),
        "smol_ssh_error_message": ([c_void_p], c_char_p),
        "smol_ssh_error_free": ([c_void_p], None),
        "smol_ssh_free": ([c_void_p], None),
        "smol_ssh_run": ([c_void_p, c_char_p, c_uint64, c_int32], POINTER(CResult)),
        "smol_ssh_wait": ([c_void_p, c_uint64, c_uint64], POINTER(CResult)),
        "smol_ssh_open_stream": ([c_void_p, c_char_p, c_uint32, c_uint64, POINTER(c_int32)], POINTER(CResult)),
        "smol_ssh_options_set_jump": ([c_void_p, c_void_p, c_char_p, c_uint32], c_int32),
        "smol_ssh_forward_local": ([c_void_p, c_char_p, c_char_p, c_uint32, c_uint32, POINTER(c_void_p)], c_void_p),
        "smol_ssh_forward_port": ([c_void_p], c_uint32),
        "smol_ssh_forward_get_stats": ([c_void_p, POINTER(CForwardStats)], c_int32),
        "smol_ssh_forward_free": ([c_void_p], None),
        "smol_ssh_result_free": ([POINTER(CResult)], None),
        "smol_ssh_close": ([c_void_p], c_int32),
        "smol_ssh_connected": ([c_void_p], c_bool),
        "smol_ssh_run_options_new": ([], c_void_p),
        "smol_ssh_run_options_free": ([c_void_p], None),
        "smol_ssh_run_options_set_timeout_ms": ([c_void_p, c_uint64], c_int32),
        "smol_ssh_run_options_set_shell_mode": ([c_void_p, c_int32], c_int32),
        "smol_ssh_run_options_set_stdin": ([c_void_p, c_char_p, c_size_t], c_int32),
        "smol_ssh_run_options_set_env": ([c_void_p, c_char_p, c_char_p], c_int32),
        "smol_ssh_run_options_set_secret_env": ([c_void_p, c_char_p, c_char_p], c_int32),
        "smol_ssh_run_options_set_cancel": ([c_void_p, c_void_p], c_int32),
        "smol_ssh_run_options_set_output_callback": ([c_void_p, OUTPUT_FN, c_void_p], c_int32),
        "smol_ssh_run_with": ([c_void_p, c_char_p, c_void_p], POINTER(CResult)),
        "smol_ssh_cancel_new": ([], c_void_p),
        "smol_ssh_cancel_trigger": ([c_void_p], c_int32),
        "smol_ssh_cancel_is_triggered": ([c_void_p], c_bool),
        "smol_ssh_cancel_free": ([c_void_p], None),
        "smol_ssh_put_file": ([c_void_p, c_char_p, c_char_p, c_void_p], POINTER(CResult)),
        "smol_ssh_put_bytes": ([c_void_p, c_char_p, c_size_t, c_char_p, c_uint32, c_void_p], POINTER(CResult)),
        "smol_ssh_get_file": ([c_void_p, c_char_p, c_char_p, c_uint64, c_void_p], POINTER(CResult)),
        "smol_ssh_get_bytes": ([c_void_p, c_char_p, c_uint64, c_void_p], POINTER(CResult)),
        "smol_ssh_options_set_file_transfer": ([c_void_p, c_int32], c_int32),
        "smol_ssh_submit": ([c_void_p, c_char_p, c_void_p, POINTER(c_void_p)], c_void_p),
        "smol_ssh_submit_put_file": ([c_void_p, c_char_p, c_char_p, c_void_p, POINTER(c_void_p)], c_void_p),
        "smol_ssh_submit_get_file": (
            [c_void_p, c_char_p, c_char_p, c_uint64, c_void_p, POINTER(c_void_p)],
            c_void_p,
        ),
        "smol_ssh_pending_fd": ([c_void_p], c_int32),
        "smol_ssh_pending_is_done": ([c_void_p], c_bool),
        "smol_ssh_pending_cancel": ([c_void_p], c_int32),
        "smol_ssh_pending_result": ([c_void_p], POINTER(CResult)),
        "smol_ssh_pending_free": ([c_void_p], None),
        "smol_ssh_stat": ([c_void_p, c_char_p, c_void_p, POINTER(c_void_p)], POINTER(CResult)),
        "smol_ssh_list_dir": ([c_void_p, c_char_p, c_void_p, POINTER(c_void_p)], POINTER(CResult)),
        "smol_ssh_exists": ([c_void_p, c_char_p, c_void_p, POINTER(c_bool)], POINTER(CResult)),
        "smol_ssh_mkdir": ([c_void_p, c_char_p, c_bool, c_void_p], POINTER(CResult)),
        "smol_ssh_remove": ([c_void_p, c_char_p, c_void_p], POINTER(CResult)),
        "smol_ssh_remove_dir": ([c_void_p, c_char_p, c_void_p], POINTER(CResult)),
        "smol_ssh_rename": ([c_void_p, c_char_p, c_char_p, c_void_p], POINTER(CResult)),
        "smol_ssh_file_list_len": ([c_void_p], c_size_t),
        "smol_ssh_file_list_get": ([c_void_p, c_size_t], POINTER(CFileInfo)),
        "smol_ssh_file_list_free": ([c_void_p], None),
    }
    for name, (args, ret) in sig.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            raise ImportError(f"{path} is older than this smol_ssh package: it lacks {name}") from None
        fn.argtypes = args
        fn.restype = ret
    return lib, path


lib, library_path = _load()
