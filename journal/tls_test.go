package journal

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// testPKI is a CA and the certificates kubeadm issues from it for etcd,
// written to dir as kubeadm names them.
type testPKI struct {
	dir    string
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	serial int64
}

func newTestPKI(t *testing.T, dir string) *testPKI {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := &testPKI{dir: dir}
	p.ca, p.caKey = p.issue(t, "ca", &x509.Certificate{Subject: pkix.Name{CommonName: "etcd-ca"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature})
	p.issue(t, "server", &x509.Certificate{Subject: pkix.Name{CommonName: "a"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames: []string{"localhost"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		KeyUsage: x509.KeyUsageDigitalSignature})
	p.issue(t, "healthcheck-client", &x509.Certificate{Subject: pkix.Name{CommonName: "kube-etcd-healthcheck-client"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature})
	return p
}

// issue writes <name>.crt and <name>.key, signed by the CA (self-signed
// for the CA itself).
func (p *testPKI) issue(t *testing.T, name string, tmpl *x509.Certificate) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p.serial++
	tmpl.SerialNumber = big.NewInt(p.serial)
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	parent, signer := tmpl, key
	if p.ca != nil {
		parent, signer = p.ca, p.caKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for file, block := range map[string]*pem.Block{name + ".crt": {Type: "CERTIFICATE", Bytes: der},
		name + ".key": {Type: "EC PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(filepath.Join(p.dir, file), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// clientTLS is the test's own client's TLS: the server certificate serves
// as a client one, as the API server's etcd client certificate would.
func (p *testPKI) clientTLS(t *testing.T) *tls.Config {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(filepath.Join(p.dir, "server.crt"), filepath.Join(p.dir, "server.key"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(p.ca)
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}
}

// tlsManifest is a kubeadm-like manifest of e, its certificates under the
// hostPath pki.
const tlsManifest = `apiVersion: v1
kind: Pod
metadata:
  name: etcd
  namespace: kube-system
spec:
  containers:
  - command:
    - etcd
    - --name=%[1]s
    - --data-dir=/var/lib/etcd
    - --listen-client-urls=%[2]s
    - --advertise-client-urls=%[2]s
    - --listen-peer-urls=%[3]s
    - --initial-advertise-peer-urls=%[3]s
    - --initial-cluster=%[1]s=%[3]s
    - --cert-file=/etc/kubernetes/pki/etcd/server.crt
    - --key-file=/etc/kubernetes/pki/etcd/server.key
    - --client-cert-auth=true
    - --trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt
    image: registry.k8s.io/etcd:3.6.16-0
    name: etcd
    volumeMounts:
    - mountPath: /var/lib/etcd
      name: etcd-data
    - mountPath: /etc/kubernetes/pki/etcd
      name: etcd-certs
  volumes:
  - hostPath:
      path: %[4]s
    name: etcd-certs
  - hostPath:
      path: %[5]s
    name: etcd-data
`

// startTLSEtcd starts an etcd that serves TLS and requires client
// certificates, as kubeadm's does, and returns it with its manifest.
func startTLSEtcd(t *testing.T, tmp string) (*testEtcd, *manifest.Etcd) {
	t.Helper()
	pki := newTestPKI(t, filepath.Join(tmp, "pki"))
	e := &testEtcd{name: "a", dataDir: filepath.Join(tmp, "a"), peerURL: freeURL(t), tls: pki.clientTLS(t),
		clientURL: "https://" + strings.TrimPrefix(freeURL(t), "http://"),
		args: []string{"--cert-file", filepath.Join(pki.dir, "server.crt"), "--key-file", filepath.Join(pki.dir, "server.key"),
			"--trusted-ca-file", filepath.Join(pki.dir, "ca.crt"), "--client-cert-auth"}}
	e.start(t)
	t.Cleanup(func() { e.stop(t) })
	path := filepath.Join(tmp, "etcd.yaml")
	m, err := manifest.Parse([]byte(fmt.Sprintf(tlsManifest, e.name, e.clientURL, e.peerURL, pki.dir, e.dataDir)), path)
	if err != nil {
		t.Fatal(err)
	}
	return e, m
}

// TestServeOverTLSFromManifest: the service reaches a TLS etcd that
// requires client certificates through the manifest alone: its loopback
// client URL, the trusted CA and the healthcheck client certificate.
func TestServeOverTLSFromManifest(t *testing.T) {
	tmp := t.TempDir()
	a, m := startTLSEtcd(t, tmp)
	st, err := store.Open(filepath.Join(tmp, "backups"))
	if err != nil {
		t.Fatal(err)
	}
	putKeys(t, a.cli, "/pre", 5)
	snap := storeSnapshot(t, st, a, store.ReasonCron)
	o := fastServe("", filepath.Join(tmp, "run", "journal.json")) // no endpoint: the manifest's
	sv := serveManifest(t, st, m, o)
	putKeys(t, a.cli, "/k", 10)
	sv.waitState(t, "following over TLS", func(s State) bool {
		return s.Running && s.SnapshotID == snap.Meta.ID && s.DurableRev == a.rev(t)
	})
	if err := sv.stop(); err != nil {
		t.Fatal(err)
	}
	if sum := onlyChain(t, st); sum.LastRev != a.rev(t) {
		t.Errorf("chain over TLS ends at %d, etcd at %d", sum.LastRev, a.rev(t))
	}
}
