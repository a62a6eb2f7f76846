package smolssh

/*
#include <stdlib.h>
#include <smol_ssh.h>
*/
import "C"

import (
	"os"
	"time"
	"unsafe"
)

// FileTransfer chooses how files move (Options.FileTransfer).
type FileTransfer int

const (
	// FileTransferAuto uses exec channels on POSIX guests and SFTP on PowerShell/cmd guests.
	FileTransferAuto FileTransfer = C.SMOL_SSH_FILE_TRANSFER_AUTO
	// FileTransferExec runs cat, head, chmod and mv under sh (POSIX guests only).
	FileTransferExec FileTransfer = C.SMOL_SSH_FILE_TRANSFER_EXEC
	// FileTransferSFTP uses the guest sshd's sftp subsystem.
	FileTransferSFTP FileTransfer = C.SMOL_SSH_FILE_TRANSFER_SFTP
)

// FileType is what kind of file a path names.
type FileType int

const (
	TypeFile      FileType = C.SMOL_SSH_FILE_TYPE_FILE
	TypeDirectory FileType = C.SMOL_SSH_FILE_TYPE_DIRECTORY
	TypeSymlink   FileType = C.SMOL_SSH_FILE_TYPE_SYMLINK
	// TypeOther is a device, FIFO or socket, or a type the server did not say.
	TypeOther FileType = C.SMOL_SSH_FILE_TYPE_OTHER
)

// FileInfo is what the guest says about a file (Stat, ListDir).
type FileInfo struct {
	// Name is the path asked about (Stat) or the entry's name (ListDir).
	Name string
	Type FileType
	// Size in bytes; -1 when the server did not say.
	Size int64
	// Mode holds the permission bits (0 with HasMode false when the server did not say).
	Mode    os.FileMode
	HasMode bool
	// ModTime is the last modification (the zero Time when the server did not say).
	ModTime time.Time
	// UID and GID are the owner's ids; -1 when the server did not say.
	UID, GID int64
}

// IsDir reports whether the file is a directory.
func (f FileInfo) IsDir() bool { return f.Type == TypeDirectory }

func fileInfo(fi *C.smol_ssh_file_info) FileInfo {
	out := FileInfo{
		Name: C.GoStringN(fi.name, C.int(fi.name_len)),
		Type: FileType(fi.file_type),
		Size: -1,
		UID:  -1,
		GID:  -1,
	}
	if fi.has_size {
		out.Size = int64(fi.size)
	}
	if fi.has_permissions {
		out.Mode, out.HasMode = os.FileMode(fi.permissions&0o777), true
		if fi.permissions&0o4000 != 0 {
			out.Mode |= os.ModeSetuid
		}
		if fi.permissions&0o2000 != 0 {
			out.Mode |= os.ModeSetgid
		}
		if fi.permissions&0o1000 != 0 {
			out.Mode |= os.ModeSticky
		}
	}
	if fi.has_modified {
		out.ModTime = time.Unix(int64(fi.modified), 0)
	}
	if fi.has_owner {
		out.UID, out.GID = int64(fi.uid), int64(fi.gid)
	}
	return out
}

// fileCall runs one file operation (over SFTP) with timeout (0: 1 min).
func (c *Client) fileCall(timeout time.Duration, call func(*C.smol_ssh_client, *C.smol_ssh_run_options) *C.smol_ssh_result) error {
	if timeout == 0 {
		timeout = time.Minute
	}
	_, err := c.transfer(timeout, call)
	return err
}

// listing runs Stat or ListDir and copies the list out.
func (c *Client) listing(path string, timeout time.Duration, stat bool) ([]FileInfo, error) {
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	var list *C.smol_ssh_file_list
	err := c.fileCall(timeout, func(h *C.smol_ssh_client, o *C.smol_ssh_run_options) *C.smol_ssh_result {
		if stat {
			return C.smol_ssh_stat(h, cp, o, &list)
		}
		return C.smol_ssh_list_dir(h, cp, o, &list)
	})
	defer C.smol_ssh_file_list_free(list)
	if err != nil {
		return nil, err
	}
	n := int(C.smol_ssh_file_list_len(list))
	out := make([]FileInfo, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, fileInfo(C.smol_ssh_file_list_get(list, C.size_t(i))))
	}
	return out, nil
}

// Stat says what the guest knows of path (symbolic links followed). A missing path is an
// error matching ErrNotFound (and fs.ErrNotExist).
func (c *Client) Stat(path string, timeout time.Duration) (FileInfo, error) {
	infos, err := c.listing(path, timeout, true)
	if err != nil {
		return FileInfo{}, err
	}
	return infos[0], nil
}

// ListDir lists the directory path (without "." and ".."); a file is ErrNotADirectory.
func (c *Client) ListDir(path string, timeout time.Duration) ([]FileInfo, error) {
	return c.listing(path, timeout, false)
}

// Exists reports whether path exists (symbolic links followed).
func (c *Client) Exists(path string, timeout time.Duration) (bool, error) {
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	var found C.bool
	err := c.fileCall(timeout, func(h *C.smol_ssh_client, o *C.smol_ssh_run_options) *C.smol_ssh_result {
		return C.smol_ssh_exists(h, cp, o, &found)
	})
	return bool(found), err
}

// Mkdir makes the directory path; with parents, its missing parents too (mkdir -p).
func (c *Client) Mkdir(path string, parents bool, timeout time.Duration) error {
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	return c.fileCall(timeout, func(h *C.smol_ssh_client, o *C.smol_ssh_run_options) *C.smol_ssh_result {
		return C.smol_ssh_mkdir(h, cp, C.bool(parents), o)
	})
}

// Remove removes the file (or symbolic link) path.
func (c *Client) Remove(path string, timeout time.Duration) error {
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	return c.fileCall(timeout, func(h *C.smol_ssh_client, o *C.smol_ssh_run_options) *C.smol_ssh_result {
		return C.smol_ssh_remove(h, cp, o)
	})
}

// RemoveDir removes the empty directory path.
func (c *Client) RemoveDir(path string, timeout time.Duration) error {
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	return c.fileCall(timeout, func(h *C.smol_ssh_client, o *C.smol_ssh_run_options) *C.smol_ssh_result {
		return C.smol_ssh_remove_dir(h, cp, o)
	})
}

// Rename renames from to to, replacing to atomically where the guest can.
func (c *Client) Rename(from, to string, timeout time.Duration) error {
	cf, ct := C.CString(from), C.CString(to)
	defer C.free(unsafe.Pointer(cf))
	defer C.free(unsafe.Pointer(ct))
	return c.fileCall(timeout, func(h *C.smol_ssh_client, o *C.smol_ssh_run_options) *C.smol_ssh_result {
		return C.smol_ssh_rename(h, cf, ct, o)
	})
}
