package main

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
)

// verifyCertificates checks each certificate of a PEM file against the
// roots the manager trusts (the others in the file serve as
// intermediates), at its own validity time, and says which are trusted.
// It exits 0 when every one is.
func verifyCertificates(path string, out io.Writer) int {
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(out, err)
		return 2
	}
	var certs []*x509.Certificate
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			fmt.Fprintln(out, err)
			return 2
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		fmt.Fprintln(out, "no certificate in", path)
		return 2
	}
	intermediates := x509.NewCertPool()
	for _, c := range certs {
		intermediates.AddCert(c)
	}
	code := 0
	for _, c := range certs {
		_, err := c.Verify(x509.VerifyOptions{Intermediates: intermediates, CurrentTime: c.NotBefore.Add(c.NotAfter.Sub(c.NotBefore) / 2)})
		if err != nil {
			fmt.Fprintf(out, "untrusted: %s: %v\n", c.Subject, err)
			code = 1
			continue
		}
		fmt.Fprintf(out, "trusted: %s\n", c.Subject)
	}
	return code
}
