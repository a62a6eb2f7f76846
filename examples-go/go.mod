module example.com/smolssh-example

go 1.19

require github.com/smol-ssh/smol-ssh/bindings/go v0.0.0

// The binding is used from a smol-ssh checkout: point this at yours
// (go mod edit -replace github.com/smol-ssh/smol-ssh/bindings/go=/path/to/smol-ssh/bindings/go).
replace github.com/smol-ssh/smol-ssh/bindings/go => ../bindings/go
