package smolssh

// The C side of streaming: the library calls smolsshGoOutput (exported below) with the user
// pointer it was given, which points to C memory holding a cgo.Handle of the Go callback.
// (A file that uses //export may only declare C functions in its preamble.)

/*
#include <stdint.h>
#include <stddef.h>
*/
import "C"

import (
	"os"
	"runtime/cgo"
	"syscall"
	"unsafe"
)

//export smolsshGoDial
func smolsshGoDial(user unsafe.Pointer) (fd C.int32_t) {
	// A panic must not unwind into the library: it fails the connect.
	defer func() {
		if recover() != nil {
			fd = -1
		}
	}()
	h := *(*cgo.Handle)(user)
	dial := h.Value().(func() (*os.File, error))
	f, err := dial()
	if err != nil || f == nil {
		return -1
	}
	defer f.Close()
	dup, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		return -1
	}
	syscall.CloseOnExec(dup)
	return C.int32_t(dup)
}

//export smolsshGoHostKey
func smolsshGoHostKey(user unsafe.Pointer, keyType *C.char, fingerprint *C.char, key *C.uint8_t, length C.size_t) (accept C.int32_t) {
	// A panic must not unwind into the library: it refuses the key.
	defer func() {
		if recover() != nil {
			accept = 0
		}
	}()
	h := *(*cgo.Handle)(user)
	f := h.Value().(func(string, string, []byte) bool)
	raw := goBytes(key, length)
	if f(C.GoString(keyType), C.GoString(fingerprint), raw) {
		return 1
	}
	return 0
}

//export smolsshGoLog
func smolsshGoLog(user unsafe.Pointer, level C.int32_t, message *C.char) {
	// A panic must not unwind into the library: it is dropped.
	defer func() { _ = recover() }()
	h := *(*cgo.Handle)(user)
	f := h.Value().(func(LogLevel, string))
	f(LogLevel(level), C.GoString(message))
}

//export smolsshGoOutput
func smolsshGoOutput(user unsafe.Pointer, stream C.int32_t, data *C.uint8_t, length C.size_t) (stop C.int32_t) {
	h := *(*cgo.Handle)(user)
	sink := h.Value().(*outputSink)
	// A panic must not unwind into the library: it stops the run, and Run raises it again.
	defer func() {
		if v := recover(); v != nil {
			sink.panicked, sink.value = true, v
			stop = 1
		}
	}()
	chunk := goBytes(data, length)
	s := Stdout
	if stream == 1 {
		s = Stderr
	}
	if sink.f(s, chunk) {
		return 0
	}
	return 1
}
