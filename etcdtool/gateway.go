package etcdtool

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// etcd serves a JSON gateway to its gRPC API on the client port (from 3.4 on,
// unless started with --enable-grpc-gateway=false). Its Maintenance.Status
// answers from here in a few milliseconds, where `etcdctl endpoint status`
// exec'd in etcd's container costs a process there (about 50 ms): the
// revision it returns decides whether there is anything to back up at all.
// When the gateway does not answer, the backup asks etcdctl as before.

const (
	gatewayPath    = "/v3/maintenance/status"
	gatewayTimeout = 5 * time.Second
)

// gatewayAnswer is the part of the gateway's StatusResponse we use; the
// gateway writes 64-bit integers as strings (proto3's JSON mapping), the IDs
// included.
type gatewayAnswer struct {
	Header *struct {
		ClusterID uint64 `json:"cluster_id,string"`
		MemberID  uint64 `json:"member_id,string"`
		Revision  int64  `json:"revision,string"`
	} `json:"header"`
	Version string `json:"version"`
}

// GatewayStatus asks the running etcd for its revision, server version and
// IDs over its JSON gateway, with the client certificate etcdctl would use.
func (e *Etcd) GatewayStatus(ctx context.Context) (Status, error) {
	t := e.tls
	client, err := gatewayClient(e.m, t)
	if err != nil {
		return Status{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, gatewayTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.Endpoint+gatewayPath, strings.NewReader("{}"))
	if err != nil {
		return Status{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return Status{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return Status{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return Status{}, fmt.Errorf("%s: %s: %s", gatewayPath, resp.Status, truncate(string(body), 200))
	}
	return parseGatewayStatus(body)
}

func parseGatewayStatus(body []byte) (Status, error) {
	var a gatewayAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return Status{}, fmt.Errorf("parse %s answer %q: %w", gatewayPath, truncate(string(body), 200), err)
	}
	if a.Header == nil || a.Version == "" {
		return Status{}, fmt.Errorf("%s answer %q has no header or version", gatewayPath, truncate(string(body), 200))
	}
	h := a.Header
	return Status{Revision: h.Revision, Version: a.Version, Identity: store.NewIdentity(h.ClusterID, h.MemberID)}, nil
}

// gatewayClient speaks TLS with the manifest's CA and the healthcheck client
// certificate, read where the host keeps them; never through a proxy.
func gatewayClient(m *manifest.Etcd, t tlsArgs) (*http.Client, error) {
	tr := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	if t.CACert != "" {
		cfg, err := gatewayTLS(m, t)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = cfg
	}
	return &http.Client{Transport: tr, Timeout: gatewayTimeout}, nil
}

// ClientConfig is how a client of the tool's own (the journal's) reaches the
// running etcd: the manifest's loopback client URL and, when etcd serves TLS,
// the gateway's TLS config (the trusted CA and the healthcheck client
// certificate, read where the host keeps them). cfg is nil for plain http.
func ClientConfig(m *manifest.Etcd) (endpoint string, cfg *tls.Config, err error) {
	t, err := clientTLS(m)
	if err != nil {
		return "", nil, err
	}
	switch {
	case t.CACert != "":
		if cfg, err = gatewayTLS(m, t); err != nil {
			return "", nil, fmt.Errorf("etcd client certificate: %w", err)
		}
	case strings.HasPrefix(t.Endpoint, "https://"):
		cfg = &tls.Config{MinVersion: tls.VersionTLS12} // the system's roots, as the gateway's client
	}
	return t.Endpoint, cfg, nil
}

func gatewayTLS(m *manifest.Etcd, t tlsArgs) (*tls.Config, error) {
	var paths [3]string
	for i, p := range []string{t.CACert, t.Cert, t.Key} {
		hp, err := m.HostPath(p)
		if err != nil {
			return nil, err
		}
		paths[i] = hp
	}
	ca, err := os.ReadFile(paths[0])
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, errors.New("no certificate in " + paths[0])
	}
	cert, err := tls.LoadX509KeyPair(paths[1], paths[2])
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
