module github.com/smol-ssh/smol-ssh/bindings/go

go 1.19
