module smolssh-bench/smolgo

go 1.19

require github.com/smol-ssh/smol-ssh/bindings/go v0.0.0

replace github.com/smol-ssh/smol-ssh/bindings/go => ../../../bindings/go
