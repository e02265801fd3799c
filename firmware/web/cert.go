package web

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/renameio/v2"
)

// The page's certificate and key live in the data directory. At first
// start the box makes a self-signed ECDSA P-256 certificate for its host
// name and addresses; the Head of IG can replace it with the practice's
// own (a PEM certificate chain and key) from the page.
const (
	certFile = "web.crt"
	keyFile  = "web.key"
)

// Certs holds the certificate in use; it can be replaced while serving.
type Certs struct {
	dir string
	cur atomic.Pointer[tls.Certificate]
}

// LoadCerts loads the certificate in dir, making a self-signed one first
// if there is none. made says whether it was made now.
func LoadCerts(dir string, now time.Time) (c *Certs, made bool, err error) {
	c = &Certs{dir: dir}
	crt, err := tls.LoadX509KeyPair(filepath.Join(dir, certFile), filepath.Join(dir, keyFile))
	if errors.Is(err, fs.ErrNotExist) {
		certPEM, keyPEM, err := selfSigned(now)
		if err != nil {
			return nil, false, err
		}
		if err := c.store(certPEM, keyPEM); err != nil {
			return nil, false, err
		}
		crt, err = tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, false, err
		}
		made = true
	} else if err != nil {
		return nil, false, fmt.Errorf("web: certificate: %w (remove %s and %s to make a new self-signed one)", err, certFile, keyFile)
	}
	c.cur.Store(&crt)
	return c, made, nil
}

// Get is tls.Config's GetCertificate.
func (c *Certs) Get(*tls.ClientHelloInfo) (*tls.Certificate, error) { return c.cur.Load(), nil }

// Fingerprint is the SHA-256 of the certificate in use, in the colon
// form browsers show.
func (c *Certs) Fingerprint() string {
	crt := c.cur.Load()
	if crt == nil || len(crt.Certificate) == 0 {
		return ""
	}
	return Fingerprint(crt.Certificate[0])
}

// Fingerprint is a DER certificate's SHA-256 as colon-separated hex.
func Fingerprint(der []byte) string {
	h := sha256.Sum256(der)
	s := strings.ToUpper(hex.EncodeToString(h[:]))
	var b strings.Builder
	for i := 0; i < len(s); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(s[i : i+2])
	}
	return b.String()
}

// Replace installs a PEM certificate (chain) and key, after checking they
// belong together and the certificate is valid now. The files are
// replaced atomically, the key readable by the daemon only.
func (c *Certs) Replace(certPEM, keyPEM []byte, now time.Time) error {
	crt, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("web: the certificate and key do not load together: %w", err)
	}
	leaf, err := x509.ParseCertificate(crt.Certificate[0])
	if err != nil {
		return fmt.Errorf("web: certificate: %w", err)
	}
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return fmt.Errorf("web: the certificate is valid from %s to %s, not now", leaf.NotBefore.Format(time.DateOnly), leaf.NotAfter.Format(time.DateOnly))
	}
	if err := c.store(certPEM, keyPEM); err != nil {
		return err
	}
	c.cur.Store(&crt)
	return nil
}

func (c *Certs) store(certPEM, keyPEM []byte) error {
	for _, f := range []struct {
		name string
		b    []byte
		mode os.FileMode
	}{{keyFile, keyPEM, 0o600}, {certFile, certPEM, 0o644}} {
		p := filepath.Join(c.dir, f.name)
		pf, err := renameio.NewPendingFile(p, renameio.WithTempDir(c.dir), renameio.WithStaticPermissions(f.mode))
		if err != nil {
			return fmt.Errorf("web: %s: %w", f.name, err)
		}
		_, err = pf.Write(f.b)
		if err == nil {
			err = pf.CloseAtomicallyReplace()
		}
		pf.Cleanup()
		if err != nil {
			return fmt.Errorf("web: %s: %w", f.name, err)
		}
	}
	return nil
}

// selfSigned makes an ECDSA P-256 certificate for the box's host name,
// localhost and its addresses, valid ten years: a box on a LAN has no
// one to renew it.
func selfSigned(now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "callrec " + host, Organization: []string{"callrec call recorder"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
	}
	if host != "" && host != "localhost" {
		tmpl.DNSNames = append(tmpl.DNSNames, host)
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ipn.IP)
			}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}
