package dovecottest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// certPEM makes one self-signed certificate per process, shared by all
// servers: CN=localhost, SANs DNS:localhost and IP:127.0.0.1, ECDSA P-256
// (made in microseconds, unlike RSA).
var certPEM = sync.OnceValues(func() (certKey [2][]byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return certKey, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return certKey, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"mailferry dovecottest"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(10 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return certKey, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return certKey, err
	}
	certKey[0] = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	certKey[1] = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return certKey, nil
})

// writeCert writes cert.pem (also the CA file) and key.pem into Dir.
func (s *Server) writeCert() error {
	certKey, err := certPEM()
	if err != nil {
		return err
	}
	s.CAFile = filepath.Join(s.Dir, "cert.pem")
	if err := os.WriteFile(s.CAFile, certKey[0], 0o644); err != nil {
		return err
	}
	// The master reads the key (ssl_key = <file) before dropping privileges.
	if err := os.WriteFile(filepath.Join(s.Dir, "key.pem"), certKey[1], 0o600); err != nil {
		return err
	}
	s.CertPool = x509.NewCertPool()
	s.CertPool.AppendCertsFromPEM(certKey[0])
	return nil
}
