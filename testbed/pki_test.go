package testbed

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func pkiTestReadCert(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	b, rest := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" || len(rest) != 0 {
		t.Fatalf("%s: want exactly one CERTIFICATE PEM block", name)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pkiTestReadKey(t *testing.T, name string) *rsa.PrivateKey {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "RSA PRIVATE KEY" {
		t.Fatalf("%s: want RSA PRIVATE KEY PEM block", name)
	}
	k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if k.N.BitLen() != 2048 {
		t.Errorf("%s: key size %d, want 2048", name, k.N.BitLen())
	}
	return k
}

func pkiTestMode(t *testing.T, name string, want os.FileMode) {
	t.Helper()
	st, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != want {
		t.Errorf("%s: mode %o, want %o", name, got, want)
	}
}

func TestGeneratePKI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	adv := net.ParseIP("127.0.0.2")
	if err := GeneratePKI(dir, PKIOptions{NodeName: "node1", IPs: []net.IP{adv}}); err != nil {
		t.Fatal(err)
	}

	pkiTestMode(t, dir, 0o755)
	pkiTestMode(t, filepath.Join(dir, "etcd"), 0o755)

	ca := pkiTestReadCert(t, filepath.Join(dir, "etcd/ca.crt"))
	caKey := pkiTestReadKey(t, filepath.Join(dir, "etcd/ca.key"))
	pkiTestMode(t, filepath.Join(dir, "etcd/ca.crt"), 0o644)
	pkiTestMode(t, filepath.Join(dir, "etcd/ca.key"), 0o600)
	if !ca.IsCA || !ca.BasicConstraintsValid || ca.Subject.CommonName != "etcd-ca" {
		t.Errorf("CA: IsCA=%v CN=%q", ca.IsCA, ca.Subject.CommonName)
	}
	if want := x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign; ca.KeyUsage != want {
		t.Errorf("CA key usage %v, want %v", ca.KeyUsage, want)
	}
	if d := time.Until(ca.NotAfter); d < 9*365*24*time.Hour || d > 10*366*24*time.Hour {
		t.Errorf("CA validity ends in %v, want ~10y", d)
	}
	if !caKey.PublicKey.Equal(ca.PublicKey) {
		t.Error("CA key does not match ca.crt")
	}
	if err := ca.CheckSignatureFrom(ca); err != nil {
		t.Errorf("CA not self-signed: %v", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)

	wantIPs := []string{"127.0.0.2", "127.0.0.1", "::1"}
	wantDNS := []string{"node1", "localhost"}
	for _, tc := range []struct {
		base   string
		cn     string
		usages []x509.ExtKeyUsage
		sans   bool
	}{
		{"etcd/server", "node1", []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, true},
		{"etcd/peer", "node1", []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, true},
		{"etcd/healthcheck-client", "kube-etcd-healthcheck-client", []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, false},
		{"apiserver-etcd-client", "kube-apiserver-etcd-client", []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, false},
	} {
		t.Run(tc.base, func(t *testing.T) {
			c := pkiTestReadCert(t, filepath.Join(dir, tc.base+".crt"))
			k := pkiTestReadKey(t, filepath.Join(dir, tc.base+".key"))
			pkiTestMode(t, filepath.Join(dir, tc.base+".crt"), 0o644)
			pkiTestMode(t, filepath.Join(dir, tc.base+".key"), 0o600)
			if !k.PublicKey.Equal(c.PublicKey) {
				t.Error("key does not match certificate")
			}
			if c.Subject.CommonName != tc.cn {
				t.Errorf("CN %q, want %q", c.Subject.CommonName, tc.cn)
			}
			if len(c.Subject.Organization) != 0 {
				t.Errorf("Organization %q, want none", c.Subject.Organization)
			}
			if c.IsCA {
				t.Error("leaf is a CA")
			}
			if want := x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment; c.KeyUsage != want {
				t.Errorf("key usage %v, want %v", c.KeyUsage, want)
			}
			if !slices.Equal(c.ExtKeyUsage, tc.usages) {
				t.Errorf("ext key usage %v, want %v", c.ExtKeyUsage, tc.usages)
			}
			if d := time.Until(c.NotAfter); d < 364*24*time.Hour || d > 366*24*time.Hour {
				t.Errorf("validity ends in %v, want ~1y", d)
			}
			if _, err := c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: tc.usages}); err != nil {
				t.Errorf("does not chain to etcd CA: %v", err)
			}
			if tc.sans {
				if !slices.Equal(c.DNSNames, wantDNS) {
					t.Errorf("DNS SANs %v, want %v", c.DNSNames, wantDNS)
				}
				var ips []string
				for _, ip := range c.IPAddresses {
					ips = append(ips, ip.String())
				}
				if !slices.Equal(ips, wantIPs) {
					t.Errorf("IP SANs %v, want %v", ips, wantIPs)
				}
				for _, host := range []string{"node1", "localhost", "127.0.0.2", "127.0.0.1", "::1"} {
					if err := c.VerifyHostname(host); err != nil {
						t.Errorf("VerifyHostname(%s): %v", host, err)
					}
				}
			} else if len(c.DNSNames)+len(c.IPAddresses) != 0 {
				t.Errorf("unexpected SANs %v %v", c.DNSNames, c.IPAddresses)
			}
		})
	}

	// Idempotent: a second call changes nothing.
	before, err := os.ReadFile(filepath.Join(dir, "etcd/server.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := GeneratePKI(dir, PKIOptions{NodeName: "other", IPs: []net.IP{net.ParseIP("127.0.0.9")}}); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(filepath.Join(dir, "etcd/server.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Error("second GeneratePKI rewrote etcd/server.crt")
	}
}

// TestGeneratePKITLSHandshake runs a mutual-TLS handshake like etcd
// (--client-cert-auth with the etcd CA) against the health-check client and
// the apiserver-etcd-client over a loopback listener.
func TestGeneratePKITLSHandshake(t *testing.T) {
	dir := t.TempDir()
	if err := GeneratePKI(dir, PKIOptions{NodeName: "node1", IPs: []net.IP{net.ParseIP("127.0.0.1")}}); err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "etcd/ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("bad CA PEM")
	}
	serverCert, err := tls.LoadX509KeyPair(filepath.Join(dir, "etcd/server.crt"), filepath.Join(dir, "etcd/server.key"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{serverCert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	gotCN := make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tc := c.(*tls.Conn)
			if err := tc.Handshake(); err != nil {
				gotCN <- "error: " + err.Error()
			} else {
				gotCN <- tc.ConnectionState().PeerCertificates[0].Subject.CommonName
			}
			tc.Close()
		}
	}()

	for _, base := range []string{"etcd/healthcheck-client", "apiserver-etcd-client"} {
		clientCert, err := tls.LoadX509KeyPair(filepath.Join(dir, base+".crt"), filepath.Join(dir, base+".key"))
		if err != nil {
			t.Fatal(err)
		}
		// Like etcdctl --endpoints=https://127.0.0.1:2379: verify the server as 127.0.0.1.
		for _, serverName := range []string{"127.0.0.1", "localhost"} {
			conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{
				Certificates: []tls.Certificate{clientCert},
				RootCAs:      pool,
				ServerName:   serverName,
			})
			if err != nil {
				t.Fatalf("%s -> %s: %v", base, serverName, err)
			}
			if cn := conn.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "node1" {
				t.Errorf("server CN %q, want node1", cn)
			}
			conn.Close()
			select {
			case cn := <-gotCN:
				want := map[string]string{"etcd/healthcheck-client": "kube-etcd-healthcheck-client", "apiserver-etcd-client": "kube-apiserver-etcd-client"}[base]
				if cn != want {
					t.Errorf("server saw client %q, want %q", cn, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("server handshake timed out")
			}
		}
	}
}
