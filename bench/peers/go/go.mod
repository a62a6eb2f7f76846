module smolssh-bench/gopeer

go 1.19

require golang.org/x/crypto v0.0.0

require (
	golang.org/x/sys v0.3.0 // indirect
	golang.org/x/term v0.3.0 // indirect
)

// Debian's golang-golang-x-crypto-dev (the module proxy is out of reach).
replace golang.org/x/crypto => /usr/share/gocode/src/golang.org/x/crypto

replace golang.org/x/sys => /usr/share/gocode/src/golang.org/x/sys

replace golang.org/x/term => /usr/share/gocode/src/golang.org/x/term

replace golang.org/x/net => /usr/share/gocode/src/golang.org/x/net

replace golang.org/x/text => /usr/share/gocode/src/golang.org/x/text
