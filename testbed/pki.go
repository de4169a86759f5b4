package testbed

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// PKIOptions parameterises GeneratePKI.
type PKIOptions struct {
	// NodeName is the node name; it becomes the CN and a DNS SAN of the etcd
	// server and peer certificates (kubeadm: NodeRegistration.Name).
	NodeName string
	// IPs are the advertise addresses, added as IP SANs of the etcd server
	// and peer certificates (besides 127.0.0.1 and ::1).
	IPs []net.IP
}

// Constants mirroring kubeadm (cmd/kubeadm/app/constants and phases/certs/certlist.go).
const (
	pkiEtcdCACommonName                  = "etcd-ca"
	pkiHealthcheckClientCN               = "kube-etcd-healthcheck-client"
	pkiAPIServerEtcdClientCN             = "kube-apiserver-etcd-client"
	pkiCAValidity                        = 10 * 365 * 24 * time.Hour // kubeadm: CertificateValidityPeriod for CAs (10y)
	pkiLeafValidity                      = 365 * 24 * time.Hour      // kubeadm: CertificateValidityPeriod (1y)
	pkiBackdate                          = 5 * time.Minute           // kubeadm: CertificateBackdate
	pkiRSAKeySize                        = 2048
	pkiDirMode               os.FileMode = 0o755
	pkiCertMode              os.FileMode = 0o644
	pkiKeyMode               os.FileMode = 0o600
)

// pkiLeaf describes one certificate signed by the etcd CA.
type pkiLeaf struct {
	baseName string // relative to pkiDir, without extension
	cn       string
	usages   []x509.ExtKeyUsage
	withSANs bool
}

// GeneratePKI writes, like `kubeadm init phase certs etcd-ca etcd-server
// etcd-peer etcd-healthcheck-client apiserver-etcd-client`, into pkiDir (the
// cluster's /etc/kubernetes/pki):
//
//	etcd/ca.crt, etcd/ca.key                    CA "etcd-ca", 10 years
//	etcd/server.crt, etcd/server.key            CN=<node>, server+client auth, SANs
//	etcd/peer.crt, etcd/peer.key                CN=<node>, server+client auth, SANs
//	etcd/healthcheck-client.crt/.key            CN=kube-etcd-healthcheck-client, client auth
//	apiserver-etcd-client.crt/.key              CN=kube-apiserver-etcd-client, client auth
//
// SANs are DNS <node>, localhost and IP <each advertise IP>, 127.0.0.1, ::1
// (kubeadm's GetEtcdAltNames / GetEtcdPeerAltNames). Keys are RSA 2048 in
// PKCS#1 PEM ("RSA PRIVATE KEY"), 0600; certificates 0644; directories 0755.
// Leaf certificates are valid for one year. As in current kubeadm (≥1.29), the
// client certificates carry no Organization.
//
// GeneratePKI is idempotent: if etcd/ca.crt already exists it returns nil
// without touching anything.
func GeneratePKI(pkiDir string, o PKIOptions) error {
	if o.NodeName == "" {
		return errors.New("testbed: GeneratePKI: empty NodeName")
	}
	etcdDir := filepath.Join(pkiDir, "etcd")
	if _, err := os.Stat(filepath.Join(etcdDir, "ca.crt")); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("testbed: stat etcd CA: %w", err)
	}
	for _, d := range []string{pkiDir, etcdDir} {
		if err := os.MkdirAll(d, pkiDirMode); err != nil {
			return fmt.Errorf("testbed: create %s: %w", d, err)
		}
	}

	now := time.Now()
	caKey, err := rsa.GenerateKey(rand.Reader, pkiRSAKeySize)
	if err != nil {
		return fmt.Errorf("testbed: generate etcd CA key: %w", err)
	}
	serial, err := pkiSerial()
	if err != nil {
		return err
	}
	// Like client-go's certutil.NewSelfSignedCACert, used by kubeadm.
	caTmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: pkiEtcdCACommonName},
		DNSNames:              []string{pkiEtcdCACommonName},
		NotBefore:             now.Add(-pkiBackdate).UTC(),
		NotAfter:              now.Add(pkiCAValidity).UTC(),
		KeyUsage:              x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return fmt.Errorf("testbed: create etcd CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return fmt.Errorf("testbed: parse etcd CA certificate: %w", err)
	}

	dnsNames := []string{o.NodeName, "localhost"}
	ips := make([]net.IP, 0, len(o.IPs)+2)
	seen := map[string]bool{}
	for _, ip := range append(append([]net.IP{}, o.IPs...), net.IPv4(127, 0, 0, 1), net.IPv6loopback) {
		if ip == nil || seen[ip.String()] {
			continue
		}
		seen[ip.String()] = true
		if v4 := ip.To4(); v4 != nil {
			ip = v4
		}
		ips = append(ips, ip)
	}
	serverClient := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	leaves := []pkiLeaf{
		{baseName: "etcd/server", cn: o.NodeName, usages: serverClient, withSANs: true},
		{baseName: "etcd/peer", cn: o.NodeName, usages: serverClient, withSANs: true},
		{baseName: "etcd/healthcheck-client", cn: pkiHealthcheckClientCN, usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
		{baseName: "apiserver-etcd-client", cn: pkiAPIServerEtcdClientCN, usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
	}
	type out struct {
		der []byte
		key *rsa.PrivateKey
	}
	outs := make([]out, len(leaves))
	for i, l := range leaves {
		key, err := rsa.GenerateKey(rand.Reader, pkiRSAKeySize)
		if err != nil {
			return fmt.Errorf("testbed: generate %s key: %w", l.baseName, err)
		}
		serial, err := pkiSerial()
		if err != nil {
			return err
		}
		// Like kubeadm's pkiutil.NewSignedCert.
		tmpl := &x509.Certificate{
			SerialNumber:          serial,
			Subject:               pkix.Name{CommonName: l.cn},
			NotBefore:             caCert.NotBefore,
			NotAfter:              now.Add(pkiLeafValidity).UTC(),
			KeyUsage:              x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature,
			ExtKeyUsage:           l.usages,
			BasicConstraintsValid: true,
			IsCA:                  false,
		}
		if l.withSANs {
			tmpl.DNSNames = dnsNames
			tmpl.IPAddresses = ips
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, key.Public(), crypto.Signer(caKey))
		if err != nil {
			return fmt.Errorf("testbed: create %s certificate: %w", l.baseName, err)
		}
		outs[i] = out{der: der, key: key}
	}

	// Write leaves first and the CA certificate last, so that an interrupted
	// run is retried instead of being mistaken for a complete PKI.
	for i, l := range leaves {
		if err := pkiWritePair(filepath.Join(pkiDir, l.baseName), outs[i].der, outs[i].key); err != nil {
			return err
		}
	}
	if err := pkiWritePair(filepath.Join(pkiDir, "etcd/ca"), caDER, caKey); err != nil {
		return err
	}
	return nil
}

func pkiSerial() (*big.Int, error) {
	// kubeadm uses a random serial in [0, MaxInt64).
	n, err := rand.Int(rand.Reader, new(big.Int).SetInt64(math.MaxInt64-1))
	if err != nil {
		return nil, fmt.Errorf("testbed: random serial: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// pkiWritePair writes base.key (0600) then base.crt (0644).
func pkiWritePair(base string, der []byte, key *rsa.PrivateKey) error {
	if err := os.MkdirAll(filepath.Dir(base), pkiDirMode); err != nil {
		return fmt.Errorf("testbed: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := pkiWriteFile(base+".key", keyPEM, pkiKeyMode); err != nil {
		return err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return pkiWriteFile(base+".crt", certPEM, pkiCertMode)
}

// pkiWriteFile writes data atomically (temp file + rename) with the given mode.
func pkiWriteFile(name string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return fmt.Errorf("testbed: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("testbed: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("testbed: write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("testbed: write %s: %w", name, err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("testbed: %w", err)
	}
	return nil
}
